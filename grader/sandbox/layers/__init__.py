"""Isolation layers of the sandbox host, each on its own, each used only where this machine
allows it (as nsjail and bubblewrap do it).

Every module here is stdlib only: the host imports it inside bubblewrap, where nothing of the
grader is visible. Each has `probe() -> str | None` (None when usable here, else a short reason)
and functions that apply it. The host probes once when it starts and reports the answers in its
`ready` event (`{"layers": {name: None or reason}}`); the trusted side keeps them as
`Sandbox.layers`.

A hand-in's process is born in the sandbox's cgroup (cgroup: the host joined it once) and set up
in this order (host.py, `enter_handin`): its own pid and mount namespaces (pidns), a fresh
scratch tmpfs in them (scratch), resource limits (rlimits), a dedicated uid (uid), then the
unprivileged confinement that must come last, right before the hand-in's code runs (confine:
Landlock, seccomp). Each that did not hold is skipped; none is required to grade.

What each holds where others are missing:
- pidns: nothing a hand-in started outlives it, by the kernel. Without it the uid sweep (as
  root), the cgroup's list or, last, a scan of the host's descendants end them.
- uid (root only): RLIMIT_NPROC binds, root's private files are closed, one kill(-1) ends all.
- cgroup: a process count (pids.max) that holds for root too; memcg: a memory limit that counts
  everything, tmpfs included, where the host can share the group safely (see cgroup.py).
- scratch: a size-capped folder counted in memory and gone with the hand-in; without it, a
  private folder deleted afterwards (neither capped nor counted).
- rlimits: address space, CPU time, file size, no core files, process count: everywhere.
"""
