// The class page stays live: every few seconds the class table and the list of who has not
// submitted are fetched again and put in place, with no reload.
async function refresh() {
  try {
    const r = await fetch(location.href, {credentials: "same-origin"});
    if (!r.ok) return;
    const page = new DOMParser().parseFromString(await r.text(), "text/html");
    for (const id of ["class", "missing-section", "students-title"]) {
      const now = document.getElementById(id), then = page.getElementById(id);
      if (now && then) now.replaceWith(then);
    }
  } catch (e) { /* offline for a moment: the next refresh tries again */ }
}
setInterval(refresh, 5000);
