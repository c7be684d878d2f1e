"""A local OpenAI-compatible server for wire tests: a scripted participant, recorded
requests, and faults injected at seeded rates.

It is a plain ASGI app served by uvicorn (which inspect-ai already brings) in a background
thread, on ``127.0.0.1`` at a free port; it never listens anywhere else.  It answers:

* ``POST /v1/chat/completions`` (also ``/chat/completions``): the participant's reply to the
  LiveNLI prompts, optionally with ``logprobs`` / ``top_logprobs``;
* ``GET /v1/models`` and Ollama's ``GET /api/tags``: the model names it serves.

Every request body is recorded (:attr:`WireServer.records`), with the fault it received.

Faults
------
Each request draws at most one fault from :class:`Faults`, a mapping kind -> rate.  The draw
is a pure function of ``(seed, request body, how many times this very body arrived before)``,
so a run injects the same faults whatever the concurrency, and every retry of a request draws
afresh (a 10% fault rate cannot fail one request forever).  Kinds:

========================  ==============================================================
``rate_limit``            429 with ``Retry-After`` (and ``retry-after-ms``)
``server_error``          500
``unavailable``           503
``reset``                 the TCP connection is reset (RST) before any response
``slow``                  the reply comes after ``slow_seconds`` (longer than the client's
                          timeout)
``bad_json``              200 with a truncated, invalid JSON body
``no_choices``            200 with an empty ``choices`` list
``content_filter``        ``finish_reason`` ``content_filter`` and no content
``empty``                 an empty reply (``finish_reason`` ``stop``)
``length``                ``finish_reason`` ``length`` and the reply cut in half
``think``                 the reply wrapped after a ``<think>...</think>`` reasoning block
========================  ==============================================================

The first seven (:data:`TRANSIENT_FAULTS`) are failures a client must retry; the last four
(:data:`REPLY_FAULTS`) are replies the package must classify.  ``Faults.always`` makes the
requests for some items fail every time (500), to test failures that outlast the retries.

Usage::

    with WireServer(AnnotatorsParticipant.from_livenli(), faults=Faults.spread(0.1)) as server:
        os.environ["WIRE_API_KEY"] = "test"
        eval(livenli(), model="openai-api/wire/scripted", model_base_url=server.base_url)
        bodies = server.bodies()
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

TRANSIENT_FAULTS = (
    "rate_limit",
    "server_error",
    "unavailable",
    "reset",
    "slow",
    "bad_json",
    "no_choices",
)
REPLY_FAULTS = ("content_filter", "empty", "length", "think")
FAULT_KINDS = TRANSIENT_FAULTS + REPLY_FAULTS

#: The reasoning text of a ``think`` fault (deliberately holding braces and a label word).
THINK_TEXT = 'Let me think. The label might be {"true"} or false...'


@dataclass(frozen=True)
class Faults:
    """Fault kinds with their rates (summing to at most 1), a seed, and always-failing items.

    ``always``: substrings; a request whose user message contains any of them gets a 500
    every time (e.g. an item's premise).
    """

    rates: Mapping[str, float] = field(default_factory=dict)
    seed: int = 0
    always: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = set(self.rates) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")
        if any(rate < 0 for rate in self.rates.values()) or sum(self.rates.values()) > 1:
            raise ValueError("fault rates must be >= 0 and sum to at most 1")

    @classmethod
    def spread(cls, total: float, kinds: Iterable[str] = TRANSIENT_FAULTS, seed: int = 0) -> Faults:
        """``total`` split evenly over ``kinds`` (by default every transient fault)."""
        kinds = tuple(kinds)
        return cls({kind: total / len(kinds) for kind in kinds}, seed=seed)

    def draw(self, body: bytes, arrival: int) -> str | None:
        """The fault for the ``arrival``-th (0-based) arrival of ``body``, or None."""
        if not self.rates:
            return None
        digest = hashlib.sha256(body).hexdigest()
        r = random.Random(f"{self.seed}:{digest}:{arrival}").random()
        for kind in FAULT_KINDS:  # a fixed order, so a rate table means one thing
            r -= self.rates.get(kind, 0.0)
            if r < 0:
                return kind
        return None


@dataclass(frozen=True)
class Reply:
    """A participant's answer: its text and, for log-probs, the label's distribution.

    ``label``: the label string inside ``text``; ``label_probs``: label -> probability, the
    alternatives reported as ``top_logprobs`` of the label's token.
    """

    text: str
    label: str | None = None
    label_probs: Mapping[str, float] | None = None


#: A participant: the request body (parsed JSON) -> its reply.
Participant = Callable[[Mapping[str, Any]], Reply]


class AnnotatorsParticipant:
    """Answers as the LiveNLI workers, in the JSON the system prompt (Figure 6) asks for.

    The server cannot see the epoch, so the worker is a pure function of the request: the
    item (from the Figure 7 user prompt) and the generation parameters sent (a sweep's
    epochs send different ones).  The label distribution of the item's workers is the
    reply's ``label_probs`` (for ``logprobs``).
    """

    def __init__(self, livenli: Any, dataset: Any = None) -> None:
        from ..datasets import load_dataset
        from ..providers import Annotators

        self.annotators = Annotators(dataset or load_dataset("livenli"))
        firsts = livenli.groupby("uid", sort=True)[["premise", "hypothesis"]].first()
        self.uids = {(p, h): uid for uid, p, h in firsts.itertuples()}
        self.distributions = {
            uid: dict(Counter(rows["class_multi"]))
            for uid, rows in livenli.groupby("uid", sort=True)
        }

    @classmethod
    def from_livenli(cls, path: str | None = None) -> AnnotatorsParticipant:
        from ..datasets import load_dataset
        from ..datasets.livenli import load_livenli_frame

        return cls(load_livenli_frame(path), load_dataset("livenli", data=path))

    def uid(self, body: Mapping[str, Any]) -> str:
        """The LiveNLI item the request's last user message asks about."""
        from ..providers import prompt_pair

        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        text = _content_text(users[-1].get("content")) if users else ""
        for pair in prompt_pair(text):
            if pair in self.uids:
                return self.uids[pair]
        raise LookupError("the request names no LiveNLI item")

    def __call__(self, body: Mapping[str, Any]) -> Reply:
        uid = self.uid(body)
        settings = json.dumps([body.get("temperature"), body.get("top_p")])
        worker = int(hashlib.sha256(settings.encode()).hexdigest(), 16)
        rows = self.annotators.rows[uid]
        label = rows.iloc[worker % len(rows)]["multi_label"]
        counts = self.distributions[uid]
        total = sum(counts.values())
        return Reply(
            self.annotators.reply(uid, worker % len(rows) + 1),
            label=label,
            label_probs={name: count / total for name, count in counts.items()},
        )


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


@dataclass(frozen=True)
class ServerRecord:
    """One request as the server saw it, and what it did."""

    path: str
    body: Mapping[str, Any] | None
    fault: str | None
    status: int
    time: float


_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")


def logprobs_content(reply: Reply, top: int) -> list[dict[str, Any]]:
    """OpenAI ``logprobs.content`` for ``reply``: one entry per token (words, spaces and
    punctuation), the label (if any) as a single token whose ``top_logprobs`` are the
    participant's label distribution; every other token is certain (log-prob 0)."""
    tokens: list[tuple[str, bool]] = []
    text = reply.text
    if reply.label and text.startswith(reply.label):  # the label alone first (an estimator)
        at = 0
    else:
        at = text.find(f'"{reply.label}"') + 1 if reply.label else 0
        at = at if at > 0 else -1
    if reply.label and at >= 0:
        head, tail = text[:at], text[at + len(reply.label) :]
        tokens = [(t, False) for t in _TOKEN.findall(head)] + [(reply.label, True)]
        tokens += [(t, False) for t in _TOKEN.findall(tail)]
    else:
        tokens = [(t, False) for t in _TOKEN.findall(text)]
    content = []
    for token, is_label in tokens:
        if is_label and reply.label_probs:
            ranked = sorted(reply.label_probs.items(), key=lambda kv: (-kv[1], kv[0]))[: top or 1]
            alternatives = [(name, math.log(p)) for name, p in ranked if p > 0]
            logprob = math.log(reply.label_probs.get(token, 1e-12))
        else:
            alternatives, logprob = [(token, 0.0)], 0.0
        content.append(
            {
                "token": token,
                "logprob": logprob,
                "bytes": list(token.encode()),
                "top_logprobs": [
                    {"token": name, "logprob": value, "bytes": list(name.encode())}
                    for name, value in alternatives[:top]
                ],
            }
        )
    return content


class WireServer:
    """The server, run by uvicorn in a background thread on 127.0.0.1 at a free port.

    Use as a context manager (or :meth:`start` / :meth:`stop`).  ``latency``: seconds added
    to every reply; ``slow_seconds``: the delay of a ``slow`` fault; ``retry_after``: the
    seconds a 429 asks the client to wait; ``models``: names reported by ``/v1/models`` and
    ``/api/tags``.
    """

    def __init__(
        self,
        participant: Participant,
        *,
        faults: Faults | None = None,
        latency: float = 0.0,
        slow_seconds: float = 5.0,
        retry_after: float = 0.1,
        models: Iterable[str] = ("scripted",),
    ) -> None:
        self.participant = participant
        self.faults = faults or Faults()
        self.latency = latency
        self.slow_seconds = slow_seconds
        self.retry_after = retry_after
        self.models = tuple(models)
        self.records: list[ServerRecord] = []
        self._arrivals: Counter[bytes] = Counter()
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (``.../v1``)."""
        return f"{self.url}/v1"

    def start(self) -> WireServer:
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app, interface="asgi3", log_level="critical", lifespan="off",
            access_log=False, proxy_headers=False, timeout_keep_alive=30, backlog=1024,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="wire-server"
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the wire server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> WireServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ what was seen
    def bodies(self, path_suffix: str = "chat/completions") -> list[Mapping[str, Any]]:
        """The recorded chat-completion request bodies, in arrival order."""
        with self._lock:
            return [r.body for r in self.records if r.path.endswith(path_suffix) and r.body]

    def fault_counts(self) -> Counter[str]:
        """How many requests received each fault (``ok`` for none)."""
        with self._lock:
            return Counter(r.fault or "ok" for r in self.records if r.body is not None)

    def reset(self) -> None:
        """Forget the records and arrivals (the fault draws start over)."""
        with self._lock:
            self.records.clear()
            self._arrivals.clear()

    # ------------------------------------------------------------------ the ASGI app
    async def _app(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        if method == "GET" and path.rstrip("/").endswith("/models"):
            data = [{"id": name, "object": "model", "owned_by": "wire"} for name in self.models]
            await _send_json(send, 200, {"object": "list", "data": data})
            return
        if method == "GET" and path.rstrip("/") == "/api/tags":
            await _send_json(send, 200, {"models": [{"name": n, "model": n} for n in self.models]})
            return
        if method != "POST" or not path.rstrip("/").endswith("chat/completions"):
            await _send_json(send, 404, {"error": {"message": f"no route {method} {path}"}})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            await self._record(path, None, None, 400)
            await _send_json(send, 400, {"error": {"message": "request body is not JSON"}})
            return
        fault = self._fault(raw, body)
        await self._answer(path, body, fault, send)

    def _fault(self, raw: bytes, body: Mapping[str, Any]) -> str | None:
        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        text = _content_text(users[-1].get("content")) if users else ""
        if any(marker in text for marker in self.faults.always):
            return "always"
        with self._lock:
            arrival = self._arrivals[raw]
            self._arrivals[raw] += 1
        return self.faults.draw(raw, arrival)

    async def _record(self, path: str, body: Any, fault: str | None, status: int) -> None:
        with self._lock:
            self.records.append(ServerRecord(path, body, fault, status, time.time()))

    async def _answer(self, path: str, body: Mapping, fault: str | None, send: Callable) -> None:
        status = {"rate_limit": 429, "server_error": 500, "always": 500, "unavailable": 503}
        await self._record(path, body, fault, status.get(fault or "", 200))
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault == "rate_limit":
            headers = [
                (b"retry-after", str(max(1, math.ceil(self.retry_after))).encode()),
                (b"retry-after-ms", str(int(self.retry_after * 1000)).encode()),
            ]
            error = {"message": "Rate limit reached", "type": "rate_limit_error"}
            await _send_json(send, 429, {"error": error}, headers)
            return
        if fault in ("server_error", "unavailable", "always"):
            code = status[fault]
            await _send_json(send, code, {"error": {"message": f"injected {code}"}})
            return
        if fault == "reset":
            _reset_connection(send)
            return
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)
        try:
            reply = self.participant(body)
        except LookupError as error:
            await _send_json(send, 400, {"error": {"message": str(error)}})
            return
        if fault == "bad_json":
            text = json.dumps(self._completion(body, reply, "stop"))
            await _send_raw(send, 200, text[: len(text) // 2].encode())
            return
        finish = "stop"
        if fault == "content_filter":
            reply, finish = Reply(""), "content_filter"
        elif fault == "empty":
            reply = Reply("")
        elif fault == "length":
            reply, finish = Reply(reply.text[: len(reply.text) // 2]), "length"
        elif fault == "think":
            reply = Reply(f"<think>{THINK_TEXT}</think>\n{reply.text}", reply.label,
                          reply.label_probs)  # fmt: skip
        completion = self._completion(body, reply, finish)
        if fault == "no_choices":
            completion["choices"] = []
        await _send_json(send, 200, completion)

    def _completion(self, body: Mapping, reply: Reply, finish: str) -> dict[str, Any]:
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": reply.text},
            "finish_reason": finish,
            "logprobs": None,
        }
        if body.get("logprobs"):
            top = int(body.get("top_logprobs") or 0)
            choice["logprobs"] = {"content": logprobs_content(reply, top), "refusal": None}
        prompt = sum(
            len(_content_text(m.get("content")).split()) for m in body.get("messages", [])
        )
        completion = len(reply.text.split())
        return {
            "id": f"chatcmpl-wire-{len(self.records)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model", "scripted")),
            "choices": [choice],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }


async def _send_json(
    send: Callable, status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await _send_raw(send, status, json.dumps(payload).encode(), headers)


async def _send_raw(
    send: Callable, status: int, data: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": head + (headers or [])})
    await send({"type": "http.response.body", "body": data})


def _reset_connection(send: Callable) -> None:
    """Abort the request's TCP connection with an RST (SO_LINGER 0), sending nothing.

    uvicorn hands a plain ASGI app its protocol cycle's bound ``send``; its ``transport``
    is the connection.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:  # not uvicorn's send: the best we can do is no response at all
        raise ConnectionResetError("injected connection reset")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def main(argv: list[str] | None = None) -> None:
    """``python -m inspect_partynli.testing``: serve the LiveNLI annotators on
    127.0.0.1 (a free port unless ``--port``), print the base URL, stop after ``--seconds``
    (or on Ctrl-C / SIGTERM).  For benchmarks and trying a client against a local server."""
    import argparse
    import signal
    import sys

    parser = argparse.ArgumentParser(prog="python -m inspect_partynli.testing")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per reply")
    parser.add_argument("--faults", type=float, default=0.0, help="rate of transient faults")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=3600.0, help="stop after (bounded)")
    parser.add_argument("--data", default=None, help="LiveNLI (default: the usual lookup)")
    args = parser.parse_args(argv)
    server = WireServer(
        AnnotatorsParticipant.from_livenli(args.data),
        faults=Faults.spread(args.faults, seed=args.seed) if args.faults else None,
        latency=args.latency,
        models=("scripted",),
    ).start()
    signal.signal(signal.SIGTERM, lambda *_: server.stop() or sys.exit(0))
    print(server.base_url, flush=True)
    try:
        time.sleep(args.seconds)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
