"""`grader k8s`: the Jobs it writes are valid Kubernetes objects, their commands grade a class
as `grader batch` does, and the pods' security settings give the isolation they claim.

There is no Kubernetes here. The objects are checked against the API's own types (the official
`kubernetes` client's models, generated from its OpenAPI schema): every field known, of the
right type, the required ones there. The containers' commands are run as they are, with the
volume's mount point set to a folder of this machine. The pods' securityContext (Docker's
seccomp profile, no_new_privs, exactly the capabilities listed) is made for real, as in
tests/container.py, and a hand-in graded under it.
"""
from __future__ import annotations

import ctypes
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grader.batch import k8s

ROOT = Path(__file__).resolve().parents[1]
GRADER = Path(sys.executable).with_name("grader")
sys.path.insert(0, str(Path(__file__).parent))
import container  # noqa: E402
from mixed_class import canvas_class  # noqa: E402

SCALARS = {"str": str, "int": int, "bool": bool, "float": (int, float), "object": object}
LIST = re.compile(r"(?:List|list)\[(.*)\]")             # the client's type names, old and new
DICT = re.compile(r"(?:Dict\[str, (.*)\]|dict\(str, (.*)\))")


def check(data, kind: str, where: str = "") -> None:
    """`data` (parsed YAML) is a valid `kind` of the Kubernetes API: no field the API does not
    know, every value of its declared type, recursively."""
    from kubernetes import client

    if m := LIST.fullmatch(kind):
        assert isinstance(data, list), f"{where}: {data!r} is not a list"
        for i, item in enumerate(data):
            check(item, m[1], f"{where}[{i}]")
        return
    if m := DICT.fullmatch(kind):
        assert isinstance(data, dict), f"{where}: {data!r} is not a map"
        for key, value in data.items():
            assert isinstance(key, str), f"{where}: key {key!r}"
            check(value, m[1] or m[2], f"{where}.{key}")
        return
    if kind in SCALARS:
        assert isinstance(data, SCALARS[kind]) and (kind == "bool") == isinstance(data, bool) \
            or kind == "object", f"{where}: {data!r} is not {kind}"
        return
    model = getattr(client.models, kind)
    assert isinstance(data, dict), f"{where}: {kind} is an object"
    field_of = {json_name: attr for attr, json_name in model.attribute_map.items()}
    unknown = set(data) - set(field_of)
    assert not unknown, f"{where}: {kind} has no field {sorted(unknown)}"
    for key, value in data.items():
        check(value, model.openapi_types[field_of[key]], f"{where}.{key}")


def as_model(data: dict, kind: str):
    """Build the client's model, which refuses a missing required field (ValueError)."""
    from kubernetes import client

    model = getattr(client.models, kind)
    if hasattr(model, "from_dict"):  # the pydantic models of recent clients
        return model.from_dict(data)
    return client.ApiClient()._ApiClient__deserialize(data, kind)


def write(cwd: Path, *args: str) -> tuple[list[dict], str]:
    proc = subprocess.run([str(GRADER), "k8s", *args], capture_output=True, text=True, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return list(yaml.safe_load_all(proc.stdout)), proc.stdout


@pytest.fixture
def folder(tmp_path):
    """The folder a volume claim holds, with a class in it."""
    source, kind_of = canvas_class(tmp_path / "class", 24)
    return tmp_path, source, kind_of


def test_the_jobs_are_valid_kubernetes_objects(folder):
    pytest.importorskip("kubernetes", reason="the kubernetes client is a test dependency")
    root, source, _ = folder
    (root / "roster.csv").write_text("x")
    docs, text = write(root, "class/submissions.zip", "--out", "graded", "--shards", "5",
                       "--image", "registry.example.edu/cs101/grader:2026", "--claim",
                       "cs101-grading", "--jobs", "2", "--memory", "700", "--published")
    assert len(docs) == 2
    for doc in docs:
        check(doc, "V1Job", doc["metadata"]["name"])
        job = as_model(doc, "V1Job")
        assert job.api_version == "batch/v1" and job.kind == "Job"
    shards, merge = (as_model(d, "V1Job") for d in docs)
    assert shards.spec.completion_mode == "Indexed" and shards.spec.completions == 5
    assert merge.spec.completion_mode is None and len(merge.spec.template.spec.init_containers) == 1
    names = [shards.metadata.name, merge.metadata.name]
    assert len(set(names)) == 2 and all(len(n) <= 52 for n in names)  # pod names: job + index
    assert all(re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", n) for n in names)
    for job in (shards, merge):
        pod = job.spec.template.spec
        assert pod.restart_policy == "Never" and pod.automount_service_account_token is False
        assert pod.security_context.seccomp_profile.type == "RuntimeDefault"
        assert pod.volumes[0].persistent_volume_claim.claim_name == "cs101-grading"
        for c in pod.containers + (pod.init_containers or []):
            sc = c.security_context
            assert sc.privileged is False and sc.allow_privilege_escalation is False
            assert sc.capabilities.drop == ["ALL"] and "SYS_ADMIN" not in sc.capabilities.add
            assert c.volume_mounts[0].mount_path == "/data"
            assert c.image == "registry.example.edu/cs101/grader:2026"
    shard = shards.spec.template.spec.containers[0]
    assert shard.resources.requests == {"cpu": "2", "memory": f"{2 * 700 + 512}Mi"}
    script = shard.command[2]
    assert "k=$((JOB_COMPLETION_INDEX + 1))" in script
    assert 'grader batch /data/class/submissions.zip --out /data/graded/shards/"$k"-of-5 ' \
           '--shard "$k"/5 --resume --jobs 2 --memory 700 --published' in script
    assert merge.spec.template.spec.containers[0].command == [
        "grader", "merge", *(f"/data/graded/shards/{k}-of-5" for k in range(1, 6)),
        "--out", "/data/graded", "--published"]
    assert "Isolation in these pods: partial" in text
    assert docs[0]["metadata"]["annotations"]["grader/isolation"].startswith("partial:")
    # each run has names of its own, so `kubectl create` never meets an older run's Jobs
    again, _ = write(root, "class/submissions.zip", "--out", "graded", "--shards", "5",
                     "--image", "x", "--claim", "c")
    assert again[0]["metadata"]["name"] != docs[0]["metadata"]["name"]


def test_the_checker_refuses_what_kubernetes_refuses():
    """The schema check is not vacuous: a misspelt field, a wrong type, a missing name."""
    pytest.importorskip("kubernetes", reason="the kubernetes client is a test dependency")
    spec = k8s.Spec("/data/c.zip", "/data/out", 2, "img", "claim")
    good = k8s.manifests(spec)[0]
    check(good, "V1Job")
    bad = json.loads(json.dumps(good))
    bad["spec"]["completionsMode"] = "Indexed"
    with pytest.raises(AssertionError, match="completionsMode"):
        check(bad, "V1Job")
    bad = json.loads(json.dumps(good))
    bad["spec"]["completions"] = "2"
    with pytest.raises(AssertionError, match="is not int"):
        check(bad, "V1Job")
    bad = json.loads(json.dumps(good))
    del bad["spec"]["template"]["spec"]["containers"][0]["name"]
    with pytest.raises(ValueError, match="name"):
        as_model(bad, "V1Job")


def test_the_pods_commands_grade_the_class_as_batch_does(folder):
    """Every shard pod's command (JOB_COMPLETION_INDEX 0..N-1), then the merge's wait and
    merge, run here with the claim "mounted" at the folder itself: the gradebook is the
    batch's, byte for byte, and the merge waits while a shard is missing."""
    root, source, kind_of = folder
    docs, _ = write(root, "class/submissions.zip", "--out", "graded", "--shards", "3",
                    "--image", "x", "--claim", "c", "--mount", str(root), "--late-penalty",
                    "10%/day")
    env = dict(os.environ, PATH=f"{GRADER.parent}:{os.environ['PATH']}")
    shard = docs[0]["spec"]["template"]["spec"]["containers"][0]["command"]
    pod = docs[1]["spec"]["template"]["spec"]
    wait, merge = pod["initContainers"][0]["command"], pod["containers"][0]["command"]
    for index in range(3):
        if index == 2:  # two of three shards done: the merge must still be waiting
            with pytest.raises(subprocess.TimeoutExpired):
                subprocess.run(wait, env=env, timeout=1)
        proc = subprocess.run(shard, env=dict(env, JOB_COMPLETION_INDEX=str(index)),
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    subprocess.run(wait, env=env, timeout=30, check=True)
    proc = subprocess.run(merge, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    whole = root / "whole"
    subprocess.run([str(GRADER), "batch", str(source), "--out", str(whole), "--jobs", "2",
                    "--late-penalty", "10%/day"], check=True, capture_output=True)
    assert (root / "graded" / "gradebook.csv").read_bytes() == \
        (whole / "gradebook.csv").read_bytes()


def test_files_outside_the_claims_folder_are_refused(folder, tmp_path_factory):
    root, _, _ = folder
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    proc = subprocess.run([str(GRADER), "k8s", str(elsewhere), "--out", "graded", "--shards",
                           "2", "--image", "x", "--claim", "c"], capture_output=True, text=True,
                          cwd=root)
    assert proc.returncode == 2 and not proc.stdout
    assert proc.stderr.strip() == (
        f"grader: error: {elsewhere} is not in {root}, the folder the pods see as /data: run "
        "`grader k8s` in the folder the volume holds, with the class and every file it names "
        "inside it")


PR_SET_NO_NEW_PRIVS = 38


def test_a_hand_in_graded_under_the_pods_security_context_is_isolated_as_stated(tmp_path):
    """Root with only the listed capabilities, Docker's seccomp profile and no_new_privs
    (allowPrivilegeEscalation: false): the reference scores every point, and the isolation is
    the one the manifests state."""
    why = container.missing()
    if why:
        pytest.skip(why)
    caps = k8s.manifests(k8s.Spec("/s", "/o", 1, "i", "c"))[0]["spec"]["template"]["spec"][
        "containers"][0]["securityContext"]["capabilities"]["add"]
    keep = ",".join("cap_" + c.lower() for c in caps)
    # capsh: keep only `caps` in the bounding set (root's capabilities after exec)
    script = (f"import os, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
              "import container, ctypes; container.docker_filter().load(); "
              f"ctypes.CDLL(None).prctl({PR_SET_NO_NEW_PRIVS}, 1, 0, 0, 0); "
              "import subprocess; all_caps = subprocess.run(['capsh', '--print'], "
              "capture_output=True, text=True).stdout.split('Bounding set =')[1].split()[0]"
              f".split(','); drop = [c for c in all_caps if c not in {keep.split(',')!r}]; "
              "os.execvp('capsh', ['capsh', '--drop=' + ','.join(drop), '--', '-c', "
              "'exec \"$@\"', 'sh', *sys.argv[1:]])")
    # Debian's python runs hand-ins: readable by a hand-in's uid, as an image's python is
    proc = subprocess.run([container.SYSTEM_PYTHON, "-c", script, str(GRADER), "grade",
                           str(ROOT / "solutions" / "engine.py"), "--python",
                           container.SYSTEM_PYTHON, "--allow-import", "none"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["score"] == sum(t["max_score"] for t in result["tests"]) > 0
    sandbox = result["extra_data"]["sandbox"]
    assert sandbox["level"] == "partial"
    held = {name for name, state in sandbox["layers"].items() if state == "held"}
    assert {"landlock", "seccomp", "uid", "rlimits"} <= held, sandbox["layers"]
    assert "namespaces" not in held
    assert k8s.ISOLATION.startswith("partial: Landlock, seccomp, a uid per hand-in and "
                                    "resource limits hold; namespaces do not")
