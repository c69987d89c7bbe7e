"""`grader k8s`: a class graded on Kubernetes, as an Indexed Job of N shards and a merge Job.

Pod K (JOB_COMPLETION_INDEX K-1) runs `grader batch SOURCE --shard K/N --resume` into
OUT/shards/K-of-N on a shared volume, then leaves a mark for this run; the merge Job waits (in an
init container) until all N marks are there and runs `grader merge`. Kubernetes has no
dependencies between Jobs: the marks are how the merge knows, and each run has its own.

The pods ask for no privilege. The grader runs as root, as in any platform's container, with
Docker's default seccomp profile and no CAP_SYS_ADMIN, so bubblewrap's namespaces are refused
and isolation is partial: Landlock, seccomp, a uid of its own per hand-in (which needs the
capabilities below, all in the Pod Security Standards' baseline) and resource limits.
"""
from __future__ import annotations

import re
import secrets
import shlex
from dataclasses import dataclass, field
from pathlib import Path

# What the grader needs as root, besides nothing: change to a hand-in's uid (SETUID, SETGID),
# end what it left (KILL), give it its scratch folder and clean up after it (CHOWN,
# DAC_OVERRIDE, FOWNER). tests/test_k8s.py grades with exactly these.
CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"]
ISOLATION = ("partial: Landlock, seccomp, a uid per hand-in and resource limits hold; "
             "namespaces do not (they need CAP_SYS_ADMIN, which these pods are not given)")


@dataclass
class Spec:
    """The class and its outputs as paths inside the pods, and what every pod runs with."""
    source: str
    out: str
    shards: int
    image: str
    claim: str                      # the PersistentVolumeClaim holding SOURCE and OUT
    mount: str = "/data"            # where the pods see it
    batch_args: list[str] = field(default_factory=list)
    merge_args: list[str] = field(default_factory=list)
    jobs: int = 1                   # workers (and CPUs) per pod
    memory_mb: int = 1024           # each hand-in's limit: a pod asks for jobs times this
    deadline: int = 86400           # seconds either Job may take
    run: str = field(default_factory=lambda: secrets.token_hex(3))

    @property
    def name(self) -> str:
        label = re.sub(r"[^a-z0-9-]+", "-", Path(self.out).name.lower()).strip("-")[:20]
        return f"grader-{label.strip('-') or 'class'}-{self.run}"

    @property
    def marks(self) -> str:
        return f"{self.out}/k8s/{self.run}"


def pod_path(local: Path, root: Path, mount: str) -> str:
    """Where the pods see `local`, a path inside `root`, the folder the volume holds."""
    local, root = Path(local).absolute(), Path(root).absolute()
    try:
        inside = local.relative_to(root)
    except ValueError:
        raise ValueError(f"{local} is not in {root}, the folder the pods see as {mount}: "
                         "run `grader k8s` in the folder the volume holds, with the class and "
                         "every file it names inside it") from None
    return str(Path(mount) / inside)


def manifests(spec: Spec) -> list[dict]:
    """The Indexed Job of the shards and the merge Job, as Kubernetes objects."""
    q, n = shlex.quote, spec.shards
    shard = "\n".join([
        "set -e",
        "k=$((JOB_COMPLETION_INDEX + 1))",
        " ".join(["grader", "batch", q(spec.source), "--out", q(f"{spec.out}/shards") +
                  f'/"$k"-of-{n}', "--shard", f'"$k"/{n}', "--resume", "--jobs",
                  str(spec.jobs), *map(q, spec.batch_args)]),
        f"mkdir -p {q(spec.marks)}",
        f'touch {q(spec.marks)}/"$k"',
    ])
    wait = (f'until [ "$(ls {q(spec.marks)} 2>/dev/null | wc -l)" -ge {n} ]; do sleep 5; done')
    merge = ["grader", "merge", *(f"{spec.out}/shards/{k}-of-{n}" for k in range(1, n + 1)),
             "--out", spec.out, *spec.merge_args]
    memory = f"{spec.jobs * spec.memory_mb + 512}Mi"
    shards = _job(spec, spec.name, {
        "completionMode": "Indexed", "completions": n, "parallelism": n, "backoffLimit": n,
    }, [_container(spec, "shard", ["sh", "-c", shard],
                   {"requests": {"cpu": str(spec.jobs), "memory": memory},
                    "limits": {"memory": memory}})])
    merged = _job(spec, spec.name + "-merge", {"backoffLimit": 2}, [
        _container(spec, "merge", merge, {"requests": {"cpu": "1", "memory": "1Gi"},
                                          "limits": {"memory": "2Gi"}})],
        init=[_container(spec, "wait-for-shards", ["sh", "-c", wait],
                         {"requests": {"cpu": "10m", "memory": "16Mi"}})])
    return [shards, merged]


def _job(spec: Spec, name: str, job: dict, containers: list[dict], init=()) -> dict:
    def labels():
        return {"app.kubernetes.io/name": "grader", "grader/run": spec.run}

    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "labels": labels(),
                     "annotations": {"grader/isolation": ISOLATION}},
        "spec": {**job, "activeDeadlineSeconds": spec.deadline, "template": {
            "metadata": {"labels": labels()},
            "spec": {
                "restartPolicy": "Never",
                "automountServiceAccountToken": False,  # no API credentials near hand-ins
                "enableServiceLinks": False,
                "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                **({"initContainers": list(init)} if init else {}),
                "containers": containers,
                "volumes": [{"name": "class",
                             "persistentVolumeClaim": {"claimName": spec.claim}}],
            }}},
    }


def _container(spec: Spec, name: str, command: list[str], resources: dict) -> dict:
    return {
        "name": name, "image": spec.image, "command": command,
        "volumeMounts": [{"name": "class", "mountPath": spec.mount}],
        "resources": resources,
        "securityContext": {
            "privileged": False, "allowPrivilegeEscalation": False,
            "runAsUser": 0, "runAsNonRoot": False,  # root, to give each hand-in its own uid
            "capabilities": {"drop": ["ALL"], "add": list(CAPABILITIES)},
        },
    }


def to_yaml(docs: list[dict]) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        def represent_str(self, text):  # a script as the block it is
            return self.represent_scalar("tag:yaml.org,2002:str", text,
                                         style="|" if "\n" in text else None)

    Dumper.add_representer(str, Dumper.represent_str)
    head = (f"# `grader k8s`: {len(docs)} Jobs; apply with `kubectl create -f` (each run has "
            f"its own names).\n# Isolation in these pods: {ISOLATION}.\n")
    return head + yaml.dump_all(docs, Dumper=Dumper, sort_keys=False, width=100)
