"""Isolation layers of the sandbox host, each on its own, each used only where this machine
allows it (as nsjail and bubblewrap do it).

Every module here is stdlib only: the host imports it inside bubblewrap, where nothing of the
grader is visible. Each has `probe() -> str | None` (None when usable here, else a short reason)
and functions that apply it. The host probes once when it starts and reports the answers in its
`ready` event (`{"layers": {name: None or reason}}`); the trusted side keeps them as
`Sandbox.layers`.

A hand-in's process is set up in this order (host.py, `enter_handin`): its own pid namespace
(pidns), cgroup, mount namespace with a fresh scratch tmpfs (scratch), resource limits
(rlimits), a dedicated uid (uid), then the unprivileged confinement that must come last, right
before the hand-in's code runs.
"""
