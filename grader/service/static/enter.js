// A personal link carries its token after '#': posted once, then dropped from the address bar.
(async () => {
  const token = decodeURIComponent(location.hash.slice(1));
  history.replaceState(null, "", location.pathname);
  const status = document.getElementById("status");
  const r = await fetch("/enter", {method: "POST", headers: {"Content-Type": "application/json"},
                                   body: JSON.stringify({token})});
  const body = await r.json();
  if (r.ok) location.replace(body.next); else status.textContent = body.error;
})();
