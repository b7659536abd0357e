"""Signature checks of a large batch on helper processes, beside this process's own work.

A check needs, beyond the signature's form (checked by the caller: ``signing.check_form``),
the record's signed bytes in RFC 8785 form, the Ed25519 check over them and the digests of
its parts: ≈ 0.12 ms a record, all of it from bytes and the JSON text the envelope wrote, so
it can be made elsewhere (``check_item``).

Why processes: ``cryptography`` releases the GIL during one Ed25519 check, but a thread must
take the GIL back between checks, and while the ingesting thread runs Python it gets it only
at each switch interval (5 ms): measured here, a thread checked 4,000 signatures in 0.75 s
beside a busy thread against 0.26 s alone, and the ingest waited for the rest. A helper
process works without our GIL.

Why not ``concurrent.futures.ProcessPoolExecutor``: its workers re-import the parent's main
script (``sarhad``'s console script imports the whole application into each), and its
feeder and result threads need the GIL at every hand-off, which the busy ingesting thread
holds. Here the caller's own thread writes each chunk to a helper's pipe without blocking and
reads the answers when it asks for them: no thread of ours waits for the GIL.

A helper is ``python -m sarhad.core.verifier`` (it imports ``core.signing``), reading frames
of checks on stdin and writing their answers on stdout (pickles: both ends are this module);
it ends when its stdin closes, so it never outlives this process. A helper that cannot start,
dies or does not answer in ``ANSWER_S`` is killed and its unanswered checks are made in the
caller's thread: a verdict never depends on a helper.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import logging
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Sequence
from typing import BinaryIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sarhad.core import signing

log = logging.getLogger("sarhad.verifier")

#: One record's check: the signer's raw public key, the signature, where the signature sits
#: in the record, the record's JSON text and its parts' (each as ``json.loads`` reads it).
Item = tuple[bytes, bytes, tuple[str, ...], str, tuple[str, ...]]
#: A record's answer: ``HOLDS``, ``BAD`` or ``NOT_CANONICAL``, and each part's ``digest``
#: (None: it has no canonical form).
Answer = tuple[int, tuple[str | None, ...]]
BAD, HOLDS, NOT_CANONICAL = 0, 1, 2
KEY_SIZE, SIGNATURE_SIZE = 32, 64
#: Records sent to the helper at a time (≈ 5 ms of its work).
CHUNK = 64
#: How long the helper may take to answer a batch before the caller checks it itself.
ANSWER_S = 60.0
_LEN = struct.Struct("<I")  # a frame: the length of the pickle that follows
_F_SETPIPE_SZ = 1031  # Linux: a larger pipe lets a whole batch leave without waiting

_keys: dict[bytes, Ed25519PublicKey] = {}


def check_item(item: Item) -> Answer:
    """Make the signed bytes of one record from its JSON, check the signature over them,
    and digest its parts: all a signature check needs beyond its form (on the helper, or
    here). The caller checked the form first (``signing.check_form``)."""
    raw, signature, at, text, parts = item
    digests = tuple(_digest(t) for t in parts)
    try:
        content = signing.signed_bytes_json(text, at)
    except signing.NotCanonical:
        return NOT_CANONICAL, digests
    key = _keys.get(raw)
    if key is None:
        key = _keys[raw] = Ed25519PublicKey.from_public_bytes(raw)
    try:
        key.verify(signature, content)
    except InvalidSignature:
        return BAD, digests
    return HOLDS, digests


def _digest(text: str) -> str | None:
    try:
        return hashlib.sha256(signing.canonical_json(text)).hexdigest()  # signing.digest
    except signing.NotCanonical:
        return None


def check_chunk(items: Sequence[Item]) -> list[Answer]:
    """``check_item`` of each."""
    return [check_item(i) for i in items]


def _read_exact(stream: BinaryIO, n: int) -> bytes | None:
    data = bytearray()
    while len(data) < n:
        got = stream.read(n - len(data))
        if not got:
            return None
        data += got
    return bytes(data)


def _frame(value: object) -> bytes:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _LEN.pack(len(data)) + data


def serve(inp: BinaryIO, out: BinaryIO) -> None:
    """The helper's loop: a frame of items in, a frame of answers out, until EOF.

    Frames are pickles: both ends are this module, in this process and its own child.
    """
    while (head := _read_exact(inp, _LEN.size)) is not None:
        body = _read_exact(inp, _LEN.unpack(head)[0])
        if body is None:
            return
        out.write(_frame(check_chunk(pickle.loads(body))))
        out.flush()


class _Helper:
    """One helper process and what was written to it but not yet answered."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.wfd, self.rfd = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        for fd in (self.wfd, self.rfd):
            # Both ways: a batch's checks leave at once, and the helper never stops to wait
            # for the caller to read its answers (the caller reads them at the end).
            with contextlib.suppress(OSError):  # else the default 64 KB: slower, not wrong
                fcntl.fcntl(fd, _F_SETPIPE_SZ, 1 << 20)
        os.set_blocking(self.wfd, False)
        self.pending = bytearray()

    def push(self) -> None:
        """Write what the pipe takes now; never waits. OSError: the helper is gone."""
        while self.pending:
            try:
                n = os.write(self.wfd, self.pending)
            except BlockingIOError:
                return
            del self.pending[:n]

    def close(self, *, kill: bool = False) -> None:
        """End the helper: at EOF it exits; one that failed is killed."""
        try:
            if kill:
                self.proc.kill()
            assert self.proc.stdin is not None and self.proc.stdout is not None
            self.proc.stdin.close()
            self.proc.stdout.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


_free: list[_Helper] = []
_running = 0
_owner = os.getpid()
_lock = threading.Lock()


def _most() -> int:
    # As many as the cores: the caller waits for the last answers with its own core idle,
    # and while it works the helpers share the rest.
    return max(1, min(4, os.cpu_count() or 2))


def _take(n: int) -> list[_Helper]:
    """Up to ``n`` free helpers (started while fewer than ``_most`` run); none: check here."""
    global _running, _owner
    with _lock:
        if os.getpid() != _owner:  # a forked child: the helpers are its parent's
            _free.clear()
            _running, _owner = 0, os.getpid()
        taken = [_free.pop() for _ in range(min(n, len(_free)))]
        new = min(n - len(taken), _most() - _running)
        _running += new
    for _ in range(new):
        try:
            taken.append(_Helper())
        except OSError as exc:
            log.warning("signatures are checked in this process: no helper (%s)", exc)
            with _lock:
                _running -= 1
    return taken


def _give_back(helper: _Helper, *, broken: bool) -> None:
    global _running
    if broken:
        helper.close(kill=True)
        with _lock:
            _running -= 1
        return
    with _lock:
        _free.append(helper)


@atexit.register
def _close_all() -> None:
    with _lock:
        helpers = list(_free)
        _free.clear()
    for h in helpers:
        h.close()


class _Lane:
    """One helper of a batch: the chunks sent to it, in order, and its answers so far."""

    def __init__(self, helper: _Helper) -> None:
        self.helper: _Helper | None = helper
        self.sent: list[int] = []  # chunk numbers
        self.answers: list[list[Answer]] = []
        self.buf = bytearray()
        # Abandoned before its answers (an error in the caller): end the helper, which may
        # hold unanswered frames.
        self.abandon = weakref.finalize(self, _give_back, helper, broken=True)

    def fail(self, why: str) -> None:
        log.warning("signature helper failed (%s): checking in this process", why)
        self.abandon()  # ends the helper and counts it out
        self.helper = None

    def read(self) -> None:
        """Take what the helper wrote (it is readable)."""
        assert self.helper is not None
        data = os.read(self.helper.rfd, 1 << 20)
        if not data:
            self.fail("it ended")
            return
        buf = self.buf
        buf += data
        while len(buf) >= _LEN.size:
            size = _LEN.unpack_from(buf)[0]
            if len(buf) < _LEN.size + size:
                break
            self.answers.append(pickle.loads(bytes(buf[_LEN.size : _LEN.size + size])))
            del buf[: _LEN.size + size]

    def done(self) -> bool:
        return self.helper is None or len(self.answers) >= len(self.sent)


class Checks:
    """A batch's signature checks under way: :meth:`add` them in order; :meth:`results`
    gives each one's ``Answer`` in the same order. Call :meth:`results` once.

    Chunks go to the batch's helpers in turn; ``helper=False`` checks all in this thread.
    """

    def __init__(self, *, helper: bool = True) -> None:
        self._lanes = [_Lane(h) for h in _take(_most())] if helper else []
        self._chunks: list[list[Item]] = []
        self._chunk: list[Item] = []

    def add(self, item: Item) -> None:
        """One more check; a full chunk leaves for a helper at once."""
        if len(item[0]) != KEY_SIZE or len(item[1]) != SIGNATURE_SIZE:
            raise ValueError("a key is 32 bytes and a signature 64")
        self._chunk.append(item)
        if len(self._chunk) == CHUNK:
            self._send()

    def _send(self) -> None:
        chunk, self._chunk = self._chunk, []
        self._chunks.append(chunk)
        lanes = [lane for lane in self._lanes if lane.helper is not None]
        if not lanes:
            return
        lane = lanes[len(self._chunks) % len(lanes)]
        assert lane.helper is not None
        lane.helper.pending += _frame(chunk)
        lane.sent.append(len(self._chunks) - 1)
        try:
            lane.helper.push()
        except OSError:
            lane.fail("it stopped taking checks")

    def _wait(self) -> None:
        """Until every lane answered all it was sent, failed, or ``ANSWER_S`` passed."""
        deadline = time.monotonic() + ANSWER_S
        while waiting := [lane for lane in self._lanes if not lane.done()]:
            left = deadline - time.monotonic()
            if left <= 0:
                for lane in waiting:
                    lane.fail(f"no answer in {ANSWER_S:.0f} s")
                return
            by_read = {lane.helper.rfd: lane for lane in waiting if lane.helper}
            by_write = {
                lane.helper.wfd: lane for lane in waiting if lane.helper and lane.helper.pending
            }
            try:
                readable, writable, _ = select.select(list(by_read), list(by_write), [], left)
            except OSError as exc:
                for lane in waiting:
                    lane.fail(str(exc))
                return
            for fd in writable:
                lane = by_write[fd]
                try:
                    lane.helper.push() if lane.helper else None
                except OSError as exc:
                    lane.fail(str(exc))
            for fd in readable:
                lane = by_read[fd]
                if lane.helper is None:
                    continue
                try:
                    lane.read()
                except (OSError, pickle.UnpicklingError) as exc:
                    lane.fail(str(exc))

    def results(self) -> list[Answer]:
        """Each check's answer, in order (waits for the helpers)."""
        if self._chunk:
            self._send()
        self._wait()
        answered: dict[int, list[Answer]] = {}
        for lane in self._lanes:
            for n, got in zip(lane.sent, lane.answers, strict=False):
                answered[n] = got
            if lane.helper is not None:
                lane.abandon.detach()
                _give_back(lane.helper, broken=False)
                lane.helper = None
        done: list[Answer] = []
        for n, chunk in enumerate(self._chunks):
            answer = answered.get(n)
            if answer is None or len(answer) != len(chunk):
                answer = check_chunk(chunk)  # not answered: its helper failed first
            done.extend(answer)
        self._chunks = []
        return done


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
