"""What a running service is: its data folder, database, queue and course file."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from ..course.file import Course
from ..grading.handin import MAX_BYTES
from ..sandbox.isolation import Isolation
from .store import Store, User, sqlite_url

RATE = 20           # uploads a minute per student, at most (the contract: at least 10)
UPLOAD = MAX_BYTES  # the largest hand-in; the request may carry a little more (its form)


@dataclass
class Service:
    data: Path | None              # None: everything is in --db
    db: str = ""                    # "": SQLite in `data`
    queue_url: str = ""             # "": in-process; redis://...: RQ
    course: Course = field(default_factory=Course)
    course_path: Path | None = None  # read again when a regrade starts
    check: Path | None = None       # the public check.py students download
    jobs: int = 2                   # in-process grading workers
    published: bool = False
    rate: int = RATE
    upload: int = UPLOAD
    isolation: Isolation = field(default_factory=Isolation)
    store: Store | None = None
    queue: object = None
    closing: list = field(default_factory=list)   # what integrations stop when it closes

    def open(self, grading: bool = True) -> "Service":
        """Make the data folder and the database; with `grading`, start the queue (and, for the
        embedded default, its graders) and queue again whatever was left unfinished."""
        if self.data is not None:
            self.data = Path(self.data)
            self.data.mkdir(parents=True, exist_ok=True)
            os.chmod(self.data, 0o700)  # uploads, tokens' hashes, the session key
        self.store = Store(self.db or sqlite_url(self.data))
        self.store.create()
        if self.queue_url:
            from .queue import RedisQueue
            self.queue = RedisQueue(self, self.queue_url)
        else:
            from .queue import LocalQueue
            self.queue = LocalQueue(self, self.jobs)
        if grading:
            self.queue.recover()
            self.queue.start()
            self.renotify()
        return self

    def renotify(self) -> None:
        """Graded attempts whose hook had not run when the service stopped."""
        from .grading import notify
        for sid in self.store.unnotified():
            notify(self, sid)

    def reload_course(self) -> None:
        """Read the course file again (an instructor changed it and asked for a regrade)."""
        if self.course_path is not None:
            from ..course.file import load
            self.course = load(self.course_path)

    def secret_key(self) -> str:
        """The key that signs session cookies: made on first start, the same for every web
        process sharing the database."""
        return self.store.setting("session_key", lambda: secrets.token_hex(32))

    def token(self, user: User) -> str:
        return self.store.make_token(user)

    def close(self) -> None:
        for stop in self.closing:
            stop()
        if self.queue is not None:
            self.queue.stop()
