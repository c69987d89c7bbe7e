"""The `grader` command: parses options and calls library functions, nothing more."""
from __future__ import annotations

import gc

# Importing click and defining the commands makes thousands of objects and no garbage: the
# cycle collector, walking them again and again meanwhile, would take a tenth of the import.
_collecting = gc.isenabled()
gc.disable()

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

import click  # noqa: E402

from . import __version__  # noqa: E402
from .grading import options  # noqa: E402

if TYPE_CHECKING:  # each command imports what it needs when it runs
    from .sandbox.isolation import Isolation
    from .sandbox.limits import Limits


def limit_options(f):
    for o in reversed(options.OPTIONS):
        f = click.option(o.flag, o.dest, type=o.type, default=o.default, show_default=True,
                         help=o.help)(f)
    return f


def use_python(ctx, param, value):
    """Check `--python` once, here; the sandbox (and batch workers) read it as GRADER_PYTHON."""
    if value is None:
        return None
    import os

    from .sandbox.interpreter import probe

    try:
        probe(value)
    except ValueError as e:
        raise click.BadParameter(str(e))
    os.environ["GRADER_PYTHON"] = value
    return value


def python_option(f):
    return click.option(
        "--python", type=click.Path(exists=True, dir_okay=False), envvar="GRADER_PYTHON",
        callback=use_python, expose_value=False,
        help="Python interpreter (3.10+) that runs hand-ins [default: the grader's own].")(f)


def isolation_options(f):
    f = click.option("--allow-import", "imports", multiple=True, metavar="NAME",
                     help="A package hand-ins may import (repeatable; numpy unless given; "
                          "`none` for none). It and what it requires are shown to hand-ins, "
                          "nothing else of the environment.")(f)
    return click.option("--sandbox", "sandbox_mode", type=click.Choice(["auto", "strict"]),
                        default="auto", show_default=True,
                        help="auto: the strongest isolation this machine allows, with a "
                             "warning when it is not full; strict: refuse to grade below "
                             "full isolation.")(f)


def isolation_from(kwargs, course) -> Isolation:
    """`--allow-import` and `--sandbox`; the course file's allowed imports unless given."""
    from .sandbox.isolation import Isolation

    return Isolation.chosen(kwargs.pop("imports"), kwargs.pop("sandbox_mode"),
                            course.allowed_imports)


def limits_from(kwargs) -> Limits:
    return options.limits_from({o.dest: kwargs.pop(o.dest) for o in options.OPTIONS})


def course_options(f):
    """`--config` (the course file) and `--published`, for commands that make student outputs."""
    f = click.option("--published", is_flag=True,
                     help="Grades are published: tests marked after_published (and "
                          "after_due_date) show in student outputs.")(f)
    return click.option("--config", "config", type=click.Path(exists=True, dir_okay=False,
                                                                path_type=Path),
                        help="The course file [default: grader.toml in this folder, if any].")(f)


def course_from(kwargs, *options: str):
    """The course file's values, with the command line's `options` in place where given
    (not left at their defaults); pops them from `kwargs`."""
    from click.core import ParameterSource

    from .course.file import find, load

    ctx = click.get_current_context()
    course = load(find(kwargs.pop("config")))
    given = {k: kwargs.pop(k) for k in options}
    return course.with_options(**{k: v for k, v in given.items() if ctx.get_parameter_source(k)
                                  in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)})


LIMITS = tuple(o.dest for o in options.OPTIONS)

values_option = click.option(
    "--published-values", is_flag=True,
    help="Grade on the values written in the hidden suite, not on the hand-in's own instance "
         "(to reproduce a grade by hand).")


def dumps(obj) -> str:
    return json.dumps(obj, indent=2, allow_nan=False)


format_option = click.option(
    "--format", "fmt", type=click.Choice(["gradescope", "text", "prairielearn"]),
    default="gradescope", show_default=True,
    help="gradescope: results.json on stdout; text: a readable summary; "
         "prairielearn: PrairieLearn's external grader results.")


metadata_option = click.option(
    "--gradescope-metadata", "metadata", type=click.Path(dir_okay=False, path_type=Path),
    help="Gradescope's submission_metadata.json: judge this hand-in as one attempt by the "
         "course file's [submissions] (run_autograder passes it).")


def as_attempt(result, metadata: Path | None, course):
    """The result judged as one attempt of a student's, when Gradescope's metadata is given."""
    if metadata is None:
        return result
    from .platforms.gradescope import read_metadata, with_attempt
    return with_attempt(result, read_metadata(metadata), course)


def echo_result(result, fmt: str, course, published: bool) -> None:
    """Gradescope's results carry every test with its visibility; the other formats are what
    the student sees now (`grader.course.visibility`)."""
    from .course.visibility import for_students

    if fmt == "text":
        from .report.text import render
        click.echo(render(for_students(result, course.due, published)), nl=False)
    elif fmt == "prairielearn":
        from .platforms.prairielearn import to_prairielearn
        click.echo(dumps(to_prairielearn(for_students(result, course.due, published))))
    else:
        from .platforms.gradescope import to_gradescope
        click.echo(dumps(to_gradescope(result, course.visibility)))


@click.group()
@click.version_option(__version__, prog_name="grader")
def main():
    """Grade micrograd-style autodiff hand-ins with hidden tests, safely."""


@main.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@format_option
@limit_options
@python_option
@isolation_options
@course_options
@values_option
@metadata_option
def grade(path, fmt, published, published_values, metadata, **kwargs):
    """Grade one hand-in: a .py file, an .ipynb notebook or a folder holding one."""
    # One hand-in makes few cycles (its code runs in the sandbox's process, never here), while
    # importing pytest and collecting the suite make a great many long-lived objects, which the
    # cycle collector would walk again and again: a tenth of the run. Off until the end.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _grade(path, fmt, published, published_values, metadata, kwargs)
    finally:
        if collecting:
            # into the oldest generation (through the permanent one: both moves are cheap), or
            # the next collection would walk everything grading made, which costs as much again
            gc.freeze()
            gc.unfreeze()
            gc.enable()
    global _exit_at_once
    _exit_at_once = True  # everything is written and the sandbox is closed: see run()


def _grade(path, fmt, published, published_values, metadata, kwargs) -> None:
    from .sandbox.client import Sandbox

    course = course_from(kwargs, *LIMITS)
    limits = course.limits
    sandbox = Sandbox(limits, isolation_from(kwargs, course))
    sandbox.launch()  # bwrap starts while pytest is imported and set up
    from .grading.handin import load

    try:
        sandbox.load_early(load(path).cells)  # and the hand-in's process loads it meanwhile
    except Exception:
        pass  # grading reads it again, and says what is wrong with it
    from .course.scoring import apply, visibilities
    from .grading.runner import grade as grade_one
    from .sandbox.client import warn_if_weak

    result = apply(grade_one(path, limits, sandbox=sandbox,
                             instances=course.instances(published_values),
                             visibility=visibilities(course)), course)
    result = as_attempt(result, metadata, course)
    warn_if_weak(result.extra.get("sandbox"))
    echo_result(result, fmt, course, published)


@main.command()
@click.argument("report", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@format_option
@course_options
@metadata_option
def convert(report, fmt, published, metadata, **kwargs):
    """Turn the JSON report of `pytest --pyargs grader.suite --handin PATH --json-report
    --json-report-file REPORT` into the results `grader grade` prints, scored by the course
    file."""
    from .course.scoring import apply
    from .grading.json_report import read

    result = read(report)
    # the limits are those the pytest run graded under, whatever the course file says now
    course = course_from(kwargs).with_options(**result.extra.get("limits", {}))
    echo_result(as_attempt(apply(result, course), metadata, course), fmt, course, published)


def parse_shard(ctx, param, value):
    if value is None:
        return None
    try:
        k, n = (int(x) for x in value.split("/"))
    except ValueError:
        raise click.BadParameter("expected K/N, e.g. 2/8")
    if not 1 <= k <= n:
        raise click.BadParameter("K must be between 1 and N")
    return k, n


def class_options(f):
    """What turns grades into a platform's files: shared by `batch` and `merge`."""
    options = [
        click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Canvas gradebook export: also write canvas-import.csv for Canvas's "
                          "gradebook import, and use the roster's names."),
        click.option("--assignment", metavar="TITLE|ID",
                     help="The roster's assignment column to fill (its title or Canvas id); "
                          "needed only when the export has more than one."),
        click.option("--worksheet", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Moodle grading worksheet (as downloaded): also write "
                          "moodle-grades.csv, filled in for upload; its Status column says "
                          "who was late, and by how much."),
        click.option("--missing-as-zero", is_flag=True,
                     help="A student of the roster or worksheet who handed in nothing scores "
                          "0 [default: listed as \"no submission\", grade left blank]."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def grading_options(f):
    """What decides a class's grades and outputs besides where they go: the options of
    `grader batch` that `grader slurm` and `grader k8s` pass on to every shard."""
    own = [
        click.option("--late-penalty", metavar="RULE",
                     help='"10%/day" per started day late, or "20%" flat, for late hand-ins '
                          '[default: the course file\'s, else none].'),
        click.option("--due", metavar="DATETIME",
                     help="Due date (ISO 8601): hand-ins submitted after it are late. Needs a "
                          "download with submission times (Gradescope)."),
        click.option("--flag-late-days", type=click.FloatRange(min=0), default=1.0,
                     show_default=True,
                     help="Days late to charge a hand-in the platform flags late without a time "
                          "(Canvas _LATE); outputs mark that lateness as inferred."),
    ]
    for option in reversed([*own, class_options, limit_options, python_option,
                            isolation_options, course_options, values_option]):
        f = option(f)
    return f


source_argument = click.argument("source", type=click.Path(exists=True, path_type=Path))
out_option = click.option("--out", type=click.Path(path_type=Path), required=True,
                          help="Folder for results/, feedback/, gradebook.csv and report.html.")


@main.command()
@source_argument
@out_option
@click.option("--jobs", "-j", type=int, default=None, help="Parallel workers [default: cores].")
@click.option("--resume", is_flag=True,
              help="Keep results whose hand-in, grader, hidden suite, limits and interpreter "
                   "are unchanged; re-grade the rest and re-apply changed late penalties.")
@click.option("--dry-run", is_flag=True,
              help="Grade (with --resume: re-grade or re-apply only what changed) in a scratch "
                   "folder and show, per student, the grade before and after and why; "
                   "nothing is written in OUT.")
@click.option("--shard", callback=parse_shard, metavar="K/N",
              help="Grade only shard K of N (by a stable hash of the student id).")
@grading_options
def batch(source, out, jobs, resume, dry_run, shard, due, roster, assignment, worksheet,
          missing_as_zero, published, published_values, **kwargs):
    """Grade every hand-in in SOURCE (a folder or .zip, e.g. a Canvas, Moodle or Gradescope
    bulk download)."""
    from .batch.classroom import Settings, grade_class
    from .batch.outputs import summary
    from .sandbox import affinity

    course = course_from(kwargs, *LIMITS, "late_penalty", "flag_late_days")
    isolation = isolation_from(kwargs, course)
    if isolation.strict:  # refuse before any worker starts, in one line
        from .sandbox.client import Sandbox
        probe = Sandbox(course.limits, isolation)
        probe.start()  # raises when isolation is not full
        probe.close()
    settings = Settings(course.limits, course.late_penalty, due, course.flag_late_days, roster,
                        assignment, worksheet, course, published, isolation,
                        published_values, missing_as_zero)
    try:
        graded = grade_class(source, out, jobs or affinity.usable(), settings, resume, shard,
                             dry_run=dry_run)
    except KeyboardInterrupt:
        interrupted(out)
    if graded.results:
        from .sandbox.client import warn_if_weak
        warn_if_weak(graded.results[0].extra.get("sandbox"))
    click.echo(summary(graded))


def interrupted(out: Path):
    """Ctrl-C during a batch: what is kept, and the command that grades the rest."""
    import shlex

    from .batch.store import result_files

    n = len(result_files(out / "results"))
    again = shlex.join(["grader", *sys.argv[1:]] + ([] if "--resume" in sys.argv else
                                                   ["--resume"]))
    click.echo(f"\nInterrupted: {n} result{' is' if n == 1 else 's are'} in "
               f"{out / 'results'}, each complete. To grade the rest (and keep those), "
               f"run:\n  {again}", err=True)
    sys.exit(130)


@main.command()
@click.argument("dirs", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--partial", is_flag=True,
              help="Merge even with shards missing or given twice; every output says so.")
@click.option("--dry-run", is_flag=True,
              help="Merge in a scratch folder and show, per student, the grade before (in "
                   "OUT) and after; nothing is written in OUT.")
@class_options
@course_options
def merge(dirs, out, partial, dry_run, roster, assignment, worksheet, missing_as_zero,
          published, **kwargs):
    """Join the output folders of a sharded `grader batch` run (every shard, once) into one."""
    from .batch.classroom import Settings
    from .batch.classroom import merge as merge_dirs
    from .batch.outputs import summary

    settings = Settings(roster=roster, assignment=assignment, worksheet=worksheet,
                        course=course_from(kwargs), published=published,
                        missing_as_zero=missing_as_zero)
    click.echo(summary(merge_dirs(list(dirs), out, settings, partial, dry_run)))


def passed_on(ctx, command, own=("out", "jobs", "config"),
              where=lambda path: str(path.absolute())) -> list[str]:
    """The options given to this command (not left at their defaults) that `command` takes
    too, but for those the caller sets itself (`own`), as its command line; files named
    `where` the machines running it find them (absolute paths), and the course file named, so
    that they mean the same on any machine of a cluster, from any folder."""
    import os

    from click.core import ParameterSource

    from .course.file import find

    takes = {p.name for p in command.params}
    args = []
    for p in ctx.command.params:
        if not isinstance(p, click.Option) or p.name not in takes or p.name in own or \
                ctx.get_parameter_source(p.name) not in (ParameterSource.COMMANDLINE,
                                                         ParameterSource.ENVIRONMENT):
            continue
        flag = next(o for o in p.opts if o.startswith("--"))
        value = ctx.params[p.name] if p.expose_value else os.environ.get("GRADER_PYTHON")
        for v in (value if p.multiple else [value]):
            if p.is_flag:
                args += [flag] if v else []
            else:
                args += [flag, str(Path(v).absolute()) if p.name == "python" else
                         where(v) if isinstance(v, Path) else str(v)]
    course = find(ctx.params.get("config"))
    if course is not None and "config" in takes:
        args += ["--config", where(course)]
    return args


@main.command()
@source_argument
@out_option
@click.option("--shards", type=click.IntRange(min=1), required=True,
              help="How many array tasks share the class.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Workers per shard: the CPUs each array task asks for.")
@click.option("--partition", help="Slurm partition [default: the cluster's].")
@click.option("--time", "time_limit", metavar="T",
              help="Time limit of each job, as sbatch takes it (e.g. 30:00).")
@click.option("--sbatch-arg", "sbatch_args", multiple=True, metavar="ARG",
              help="Another sbatch option for both jobs, e.g. --sbatch-arg=--account=cs101 "
                   "(repeatable).")
@click.option("--wait", is_flag=True,
              help="Return when the merge is done, with its exit code; say which shards and "
                   "students failed.")
@grading_options
@click.pass_context
def slurm(ctx, source, out, shards, jobs, partition, time_limit, sbatch_args, wait, **kwargs):
    """Grade SOURCE on a Slurm cluster: one array job of SHARDS `grader batch --shard K/N`
    runs, each into OUT/shards/, and a merge job into OUT once all have succeeded. Running it
    again grades only what is missing."""
    from .batch import slurm as cluster

    course_from(kwargs, *LIMITS, "late_penalty", "flag_late_days")  # a broken file fails here
    plan = cluster.Plan(source, out, shards, passed_on(ctx, batch), passed_on(ctx, merge), jobs,
                        partition, time_limit, list(sbatch_args))
    submitted = cluster.submit(plan)
    click.echo(f"submitted shards as job {submitted.shards} (array 1-{shards}) and the merge as "
               f"job {submitted.merge}, to run once every shard has succeeded")
    if not wait:
        click.echo(f"follow them with `squeue -j {submitted.shards},{submitted.merge}`; logs in "
                   f"{plan.folder}; the gradebook will be {plan.out / 'gradebook.csv'}")
        return
    try:
        code = cluster.wait(plan, submitted, click.echo)
    except KeyboardInterrupt:
        click.echo(f"stopped waiting; the jobs go on (`squeue -j {submitted.shards},"
                   f"{submitted.merge}`, `scancel` to stop them)", err=True)
        code = 130
    sys.exit(code)


@main.command()
@source_argument
@out_option
@click.option("--shards", type=click.IntRange(min=1), required=True,
              help="How many pods share the class.")
@click.option("--image", required=True,
              help="A container image with this kit installed (`grader` on its PATH).")
@click.option("--claim", required=True, metavar="PVC",
              help="The PersistentVolumeClaim holding this folder, with SOURCE, OUT and every "
                   "file named in it.")
@click.option("--mount", default="/data", show_default=True,
              help="Where the pods mount the claim.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Workers per pod: the CPUs it asks for.")
@click.option("--deadline", type=click.IntRange(min=60), default=86400, show_default=True,
              help="Seconds either Job may take (activeDeadlineSeconds).")
@grading_options
@click.pass_context
def k8s(ctx, source, out, shards, image, claim, mount, jobs, deadline, **kwargs):
    """Write the Kubernetes Jobs that grade SOURCE: an Indexed Job of SHARDS pods, each
    `grader batch --shard K/N` into OUT/shards/, and a merge Job into OUT, for
    `kubectl create -f -`. Run it in the folder the claim holds."""
    from .batch import k8s as kube

    course = course_from(kwargs, *LIMITS, "late_penalty", "flag_late_days")
    root = Path.cwd()

    def where(path):
        return kube.pod_path(path, root, mount)

    spec = kube.Spec(where(source), where(out), shards, image, claim, mount,
                     passed_on(ctx, batch, where=where), passed_on(ctx, merge, where=where),
                     jobs, course.limits.memory_mb, deadline)
    click.echo(kube.to_yaml(kube.manifests(spec)), nl=False)


@main.command("canvas-upload")
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--course", required=True, help="Canvas course id.")
@click.option("--assignment", required=True, help="Canvas assignment id.")
@click.option("--attach-page/--no-attach-page", default=True, show_default=True,
              help="Attach each student's feedback page (every test, its graph and "
                   "gradients) to their comment, which holds a short summary.")
@click.option("--yes", is_flag=True, help="Change Canvas without asking (for scripts).")
@course_options
def canvas_upload(out, course, assignment, attach_page, yes, published, **kwargs):
    """Post each student's grade and feedback from OUT (a `grader batch` folder) to Canvas.

    Reads CANVAS_API_URL and CANVAS_API_TOKEN from the environment. Shows what it will change
    and asks first; a comment already posted is never posted again."""
    import os

    from .batch import canvas_upload as upload
    from .course.visibility import for_students

    try:
        import canvasapi  # noqa: F401
    except ImportError:
        raise click.UsageError("canvas-upload needs Canvas's client, an extra of this kit: "
                               "pip install 'backprop-grader[canvas]'")
    url, token = os.environ.get("CANVAS_API_URL"), os.environ.get("CANVAS_API_TOKEN")
    if not url or not token:
        raise click.UsageError("set CANVAS_API_URL (e.g. https://canvas.example.edu) and "
                               "CANVAS_API_TOKEN (Account > Settings > New access token)")
    due = course_from(kwargs).due
    plan = upload.plan(out, url, token, course, assignment, attach_page,
                       lambda r: for_students(r, due, published))
    click.echo(upload.describe(plan))
    if not plan.changes:
        return
    if not yes and not click.confirm(f"Change {len(plan.changes)} submission(s) in Canvas?"):
        raise SystemExit(1)
    for line in upload.apply(plan):
        click.echo(line)


@main.command("gradescope-zip")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The course file to grade by [default: grader.toml in this folder, if any].")
def gradescope_zip(out, config):
    """Build a Gradescope autograder zip (setup.sh, run_autograder) that installs this kit,
    and the course file when there is one."""
    from .course.file import find, load
    from .platforms.gradescope_zip import build

    path = find(config)
    load(path)  # a broken course file fails here, not on every submission
    click.echo(build(out, Path(__file__).resolve().parents[1], course=path))


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default="grader.toml")
@click.option("--force", is_flag=True, help="Replace an existing file.")
def init(path, force):
    """Write a course file (default: grader.toml here) with every key at its default."""
    import secrets

    from .course.file import template

    if path.exists() and not force:
        raise click.UsageError(f"{path} exists; pass --force to replace it")
    path.write_text(template(secrets.token_hex(16)), encoding="utf-8")
    click.echo(f"wrote {path}: every key at its default; edit it, and every command here "
               "uses it")


def service_options(f):
    """Where a service keeps its data, and the engines beyond one machine."""
    f = click.option("--queue", "queue_url", metavar="URL", default="",
                     help="redis://HOST:PORT/N: grade on `grader worker` processes pulling from "
                          "RQ on Redis [default: in this process].")(f)
    f = click.option("--db", metavar="URL", default="",
                     help="postgresql://USER:PASS@HOST/NAME [default: SQLite in DATA].")(f)
    return click.option("--data", type=click.Path(file_okay=False, path_type=Path),
                        help="The service's folder (its SQLite database, keys); needed "
                             "unless --db is given.")(f)


def make_service(data, db, queue_url, kwargs, **more):
    from .service.service import Service

    if data is None and not db:
        raise click.UsageError("give --data DIR (SQLite in it), or --db postgresql://...")
    course = course_from(kwargs, *LIMITS)
    return Service(data=data, db=db, queue_url=queue_url, course=course,
                   course_path=course.path, published=kwargs.pop("published", False),
                   isolation=isolation_from(kwargs, course), **more)


@main.command()
@service_options
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Grading workers in this process [default: cores].")
@click.option("--threads", type=click.IntRange(min=1), default=16, show_default=True,
              help="HTTP worker threads.")
@click.option("--rate", type=click.IntRange(min=1), default=20, show_default=True,
              help="Uploads a minute one student may make.")
@click.option("--check", "check_file", type=click.Path(exists=True, dir_okay=False,
                                                       path_type=Path),
              help="The public check.py students may download [default: assignments/check.py "
                   "here, if any].")
@limit_options
@python_option
@isolation_options
@course_options
def serve(data, db, queue_url, host, port, jobs, threads, rate, check_file, **kwargs):
    """Run the submission service: students upload, see their feedback at once; instructors
    see the class. SQLite and grading in this process unless --db/--queue say otherwise."""
    from .sandbox import affinity
    from .service.app import create_app
    from .service.server import serve as run_server

    if check_file is None and Path("assignments/check.py").is_file():
        check_file = Path("assignments/check.py")
    service = make_service(data, db, queue_url, kwargs, jobs=jobs or affinity.usable(),
                           rate=rate, check=check_file).open()
    app = create_app(service)

    def ready(server):
        click.echo(f"grader: serving http://{host}:{server.effective_port}/ "
                   f"({'data in ' + str(data) if not db else 'data in the --db database'}; "
                   f"{'grading on the --queue workers' if queue_url else 'grading here'})",
                   err=True)
    try:
        run_server(app, host, port, service.upload, threads, ready)
    finally:
        service.close()


@main.command()
@service_options
@limit_options
@python_option
@isolation_options
@course_options
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(data, db, queue_url, burst, **kwargs):
    """Grade submissions from the queue of a `grader serve --queue redis://...`, writing results
    to its database (--db); run any number, on any machines."""
    from .service.queue import work

    if not queue_url:
        raise click.UsageError("--queue redis://... is required: the embedded service grades "
                               "in its own process")
    service = make_service(data, db, queue_url, kwargs).open(grading=False)
    work(service, burst=burst)


@main.command()
@click.option("--data", type=click.Path(file_okay=False, path_type=Path))
@click.option("--db", metavar="URL", default="", help="As given to `grader serve`.")
@click.option("--student", metavar="ID", help="The student's id.")
@click.option("--instructor", metavar="ID", help="The instructor's id.")
@click.option("--course", default="course", show_default=True,
              help="The course the token belongs to.")
@click.option("--name", default="", help="The name shown on pages.")
def token(data, db, student, instructor, course, name):
    """Print a bearer token for the service's API (its only line on stdout); the student's
    personal link is the service's /enter#TOKEN."""
    from .service.service import Service
    from .service.store import User

    if bool(student) == bool(instructor):
        raise click.UsageError("give exactly one of --student ID and --instructor ID")
    if data is None and not db:
        raise click.UsageError("give --data DIR (SQLite in it), or --db postgresql://...")
    user = User(student or instructor, name, "student" if student else "instructor", course)
    click.echo(Service(data=data, db=db).open(grading=False).token(user))


@main.group()
def lti():
    """LTI 1.3: the learning platforms that launch the service."""


@lti.command("add-platform")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--db", metavar="URL", default="", help="As given to `grader serve`.")
@click.option("--issuer", metavar="ISS", required=True,
              help="The platform's issuer (Canvas: https://canvas.instructure.com).")
@click.option("--client-id", metavar="ID", required=True,
              help="The tool's client id on the platform (Canvas: the developer key's id).")
@click.option("--deployment-id", metavar="DEP", required=True,
              help="The deployment's id (give the command again for another deployment).")
@click.option("--auth-login-url", metavar="URL", required=True,
              help="The platform's OIDC authorization endpoint.")
@click.option("--auth-token-url", metavar="URL", required=True,
              help="The platform's OAuth2 token endpoint (for grades and rosters).")
@click.option("--keyset-url", metavar="URL", required=True,
              help="The platform's public keys (JWKS).")
def add_platform(data, db, **platform):
    """Register a learning platform (or a new deployment of one); a running service takes
    it at its next launch, no restart."""
    from .service.lti.store import add_platform as add
    from .service.service import Service

    try:
        added = add(Service(data=data, db=db).open(grading=False).store.engine, **platform)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    click.echo(f"grader: platform {added.issuer} (client id {added.client_id}) registered "
               f"with deployment {platform['deployment_id']}", err=True)


from .materials.cli import materials  # noqa: E402  (click only: cheap to import)

main.add_command(materials)

if _collecting:
    gc.enable()

_exit_at_once = False


def run():
    """Entry point that turns the grader's own failures into one line on stderr."""
    try:
        main(standalone_mode=True)
    except SystemExit as e:
        if _exit_at_once and e.code in (0, None):
            _exit_now()
        raise
    except Exception as e:  # the grader itself could not run: one line, no traceback
        from .report.terminal import visible
        print(visible(f"grader: error: {e}"), file=sys.stderr)
        sys.exit(2)


def _exit_now() -> None:
    """After `grader grade` has written its result and closed its sandbox, skip tearing down
    the interpreter (freeing pytest's thousands of objects takes longer than the grading's
    own reporting); nothing is left to clean up."""
    import os

    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return  # let the normal exit report it
    os._exit(0)
