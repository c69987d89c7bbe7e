// The student's page: upload (drop or pick), then follow the submission until it is graded and
// show its feedback and the attempts table, with no reload.
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const $ = (id) => document.getElementById(id);
const say = (text, kind) => { $("status").textContent = text; $("status").className = kind || ""; };

async function api(path, options = {}) {
  options.headers = Object.assign({"X-CSRF-Token": csrf}, options.headers || {});
  options.credentials = "same-origin";
  const r = await fetch(path, options);
  let body = {};
  try { body = await r.json(); } catch (e) { body = {error: `The service answered ${r.status}.`}; }
  return [r, body];
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

async function history() {
  const [r, body] = await api("/api/v1/submissions");
  if (!r.ok) return;
  const rows = body.submissions.slice().reverse();
  const tbody = $("history").querySelector("tbody");
  tbody.replaceChildren();
  $("none").hidden = rows.length > 0;
  for (const s of rows) {
    const tr = document.createElement("tr");
    tr.dataset.id = s.id;
    tr.append(cell(s.attempt ?? "–"), cell(s.filename), cell(s.submitted_at.replace("T", " ")),
              cell(s.status === "failed" ? "not graded" : s.status),
              cell(s.score === null ? "" : `${+s.score.toFixed(2)} / ${+s.max_score.toFixed(2)}`, "num"),
              cell(s.status === "done" ? (s.counts ? "yes" : "no") : "", "", ));
    if (s.verdict) tr.title = s.verdict;
    if (s.status === "done") {
      tr.className = "link";
      tr.addEventListener("click", () => show(s));
    }
    tbody.append(tr);
  }
}

function show(s) {
  $("result").hidden = false;
  $("result-title").textContent = `Feedback on attempt ${s.attempt}` + (s.verdict ? ` (${s.verdict})` : "");
  $("feedback").src = `/student/submissions/${s.id}/feedback`;
}

async function follow(id) {
  for (let wait = 250; ; wait = Math.min(wait * 1.5, 2000)) {
    const [r, s] = await api(`/api/v1/submissions/${id}`);
    if (!r.ok) { say(s.error, "error"); return; }
    if (s.status === "done") {
      say(`Graded: ${+s.result.score.toFixed(2)} / ${+s.result.max_score.toFixed(2)}. ${s.verdict}`, "ok");
      show(s);
      return history();
    }
    if (s.status === "failed") {
      say(`Not graded: ${s.error}`, "error");
      return history();
    }
    say(s.status === "queued" ? "Queued: waiting for a grader…" : "Running the hidden tests…", "busy");
    await new Promise((done) => setTimeout(done, wait));
  }
}

async function upload(file) {
  if (!file) return;
  say(`Uploading ${file.name}…`, "busy");
  const form = new FormData();
  form.append("file", file, file.name);
  const [r, body] = await api("/api/v1/submissions", {method: "POST", body: form});
  if (r.status !== 202) { say(body.error || `The upload was refused (${r.status}).`, "error"); return; }
  say("Queued: waiting for a grader…", "busy");
  history();
  await follow(body.id);
}

$("file").addEventListener("change", (e) => { upload(e.target.files[0]); e.target.value = ""; });
const zone = $("form");
zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
zone.addEventListener("dragleave", () => zone.classList.remove("over"));
zone.addEventListener("drop", (e) => {
  e.preventDefault();
  zone.classList.remove("over");
  upload(e.dataTransfer.files[0]);
});
zone.addEventListener("submit", (e) => e.preventDefault());
history();
