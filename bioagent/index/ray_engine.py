"""Ray plumbing for the distributed build: connecting (with a timeout), the embedding actor, and the Ray Data
pipeline that embeds shards (run from the driver, or, through Ray Client, from an actor on the cluster)."""

from __future__ import annotations

import logging
import queue
import re
import socket
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bioagent.errors import BioagentError, ConfigError, MissingExtraError
from bioagent.index.embedders import Embedder, load_embedder
from bioagent.settings import DistributedSettings, EmbeddingSettings, Settings

_EXCEPTION_LINE = re.compile(r"^(?:\w+\.)*(?P<type>\w*(?:Error|Exception)): (?P<message>.+)$", re.MULTILINE)
ShardItem = dict[str, Any]
"""``{"shard": number, "texts": [...]}`` in; ``{shard, vectors (float32 bytes), rows, dimension, embedder}`` out."""


def ray_module() -> Any:
    """The ``ray`` package with Ray Data, or an error naming the ``distributed`` extra."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise MissingExtraError("ray[data]", "distributed", "The Ray build engine (--engine ray)") from exc
    return ray


@contextmanager
def ray_connection(settings: DistributedSettings) -> Iterator[Any]:
    """Ray, connected: the caller's connection if there is one, else ``settings.address`` or a local instance
    with one CPU per worker (shut down again on exit, also on errors)."""
    ray = ray_module()
    if ray.is_initialized():
        yield ray
        return
    quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    if settings.address is None:
        ray.init(address="local", num_cpus=settings.num_workers, **quiet)
    else:
        _connect(ray, settings.address, settings.connect_timeout_s, quiet)
    try:
        yield ray
    finally:
        ray.shutdown()


def embedded_shards(
    ray: Any, items: list[ShardItem], settings: Settings, embedder: Embedder | None
) -> Iterator[ShardItem]:
    """Embedded shards in completion order. Through Ray Client (which cannot drive Ray Data) the pipeline runs
    in an actor on the cluster that hands the rows back in batches."""
    if not ray.util.client.ray.is_connected():
        with quiet_console("ray.data"):
            yield from _pipeline(ray, items, settings, embedder)
        return
    runner = ray.remote(PipelineRunner).options(num_cpus=0, max_restarts=0).remote(items, settings, embedder)
    while rows := ray.get(runner.take.remote()):
        yield from rows


class ShardEmbedder:
    """Ray Data actor: loads the embedder once, then embeds one shard per row of each batch."""

    def __init__(self, embedding_json: str, cache_dir: str, embedder: Embedder | None = None) -> None:
        settings = EmbeddingSettings.model_validate_json(embedding_json)
        self.embedder = embedder or load_embedder(settings, Path(cache_dir))

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        vectors = [self.embedder.encode_documents([str(t) for t in texts]) for texts in batch["texts"]]
        return {
            "shard": batch["shard"],
            "vectors": [v.tobytes() for v in vectors],
            "rows": [len(v) for v in vectors],
            "dimension": [v.shape[1] for v in vectors],
            "embedder": [self.embedder.name] * len(vectors),
        }


class PipelineRunner:
    """Runs the pipeline on the cluster (for Ray Client drivers); ``take`` returns the rows finished so far."""

    def __init__(self, items: list[ShardItem], settings: Settings, embedder: Embedder | None) -> None:
        self._rows: queue.Queue[tuple[ShardItem | None, BaseException | None]] = queue.Queue()
        threading.Thread(target=self._run, args=(items, settings, embedder), daemon=True).start()

    def take(self) -> list[ShardItem]:
        """Waits for at least one row; an empty list means the pipeline has finished."""
        taken = [self._rows.get()]
        while not self._rows.empty():
            taken.append(self._rows.get())
        rows = [row for row, _ in taken if row is not None]
        errors = [error for _, error in taken if error is not None]
        if errors:
            raise errors[0]
        if taken[-1][0] is None:  # the end mark: hand out the last rows, then nothing
            self._rows.put((None, None))
        return rows

    def _run(self, items: list[ShardItem], settings: Settings, embedder: Embedder | None) -> None:
        try:
            for row in _pipeline(ray_module(), items, settings, embedder):
                self._rows.put((row, None))
        except BaseException as exc:  # handed to the driver by take()
            self._rows.put((None, exc))
        self._rows.put((None, None))


def _pipeline(
    ray: Any, items: list[ShardItem], settings: Settings, embedder: Embedder | None
) -> Iterator[ShardItem]:
    distributed = settings.distributed
    gpus = 1 if settings.embedding.device.startswith("cuda") else 0
    workers = min(distributed.num_workers, len(items))
    _check_resources(ray, workers, gpus)
    dataset = ray.data.from_items(items, override_num_blocks=len(items))  # one block (= one task) per shard
    dataset.context.enable_progress_bars = False
    pool = ray.data.ActorPoolStrategy(size=workers, max_tasks_in_flight_per_actor=1)
    with warnings.catch_warnings():
        # Ray Data deprecates passing actor options such as max_restarts through map_batches (removal planned
        # for Ray 2.64); without them a shard that kills its worker would be retried forever.
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
        embedded = dataset.map_batches(
            ShardEmbedder,
            batch_size=1,
            compute=pool,
            fn_constructor_kwargs={
                "embedding_json": _one_cpu_each(settings.embedding).model_dump_json(),
                "cache_dir": str(settings.cache_dir.resolve()),
                "embedder": embedder,
            },
            num_cpus=0 if gpus else 1,
            num_gpus=gpus,
            max_restarts=distributed.max_retries,
            max_task_retries=distributed.max_retries,
        )
    yield from embedded.iter_rows()


def _one_cpu_each(embedding: EmbeddingSettings) -> EmbeddingSettings:
    """Each actor holds one CPU: ONNX Runtime's default (a thread per core) would oversubscribe the node.
    (Torch follows OMP_NUM_THREADS, which Ray sets to the actor's CPUs.)"""
    return embedding if embedding.onnx_threads else embedding.model_copy(update={"onnx_threads": 1})


def _check_resources(ray: Any, workers: int, gpus_each: int) -> None:
    """Refuse a pool the cluster cannot hold (Ray would wait for it forever)."""
    kind, need = ("GPU", workers * gpus_each) if gpus_each else ("CPU", workers)
    have = int(ray.cluster_resources().get(kind, 0))
    if have < need:
        raise ConfigError(
            f"{workers} embedding workers need {need} {kind}s, but the Ray cluster has {have}; lower "
            "distributed.num_workers (--num-workers)" + (" or use device 'cpu'" if gpus_each else "")
        )


def _connect(ray: Any, address: str, timeout: float, options: dict[str, Any]) -> None:
    """``ray.init(address)``, failing with a clear error within ``timeout`` seconds if the cluster is not there."""
    where = f"the Ray cluster at {address}"
    if address != "auto":
        host, port = _host_port(address)
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as exc:
            raise BioagentError(
                f"cannot reach {where} within {timeout:g} s ({exc.strerror or exc}); check distributed.address "
                "(--address) and that the cluster is running (`ray start --head`)"
            ) from exc
    failures: list[BaseException] = []

    def init() -> None:
        try:
            ray.init(address=address, **options)
        except BaseException as exc:  # reported by the caller's thread
            failures.append(exc)

    thread = threading.Thread(target=init, name="ray-connect", daemon=True)
    with quiet_console("ray"):  # Ray warns that a thread cannot set its SIGTERM handler
        thread.start()
        thread.join(timeout)
    if thread.is_alive():
        raise BioagentError(
            f"connecting to {where} did not finish within {timeout:g} s (distributed.connect_timeout_s)"
        )
    if failures:
        raise BioagentError(f"cannot connect to {where}: {first_line(failures[0])}") from failures[0]


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(
            f"distributed.address must be 'auto', 'ray://host:port' or 'host:port', not '{address}'"
        )
    return host.strip("[]"), int(port)


@contextmanager
def quiet_console(name: str) -> Iterator[None]:
    """Silence ``name``'s console handlers for a while (its log files keep everything; errors are raised)."""
    streams = [
        handler
        for handler in logging.getLogger(name).handlers
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler)
    ]
    levels = [handler.level for handler in streams]
    for handler in streams:
        handler.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for handler, level in zip(streams, levels):
            handler.setLevel(level)


def root_cause(exc: BaseException) -> str:
    """``Type: message`` of the innermost cause. Ray wraps a worker's exception in several layers and keeps the
    original only as text: the first exception line of the worker's traceback."""
    found = _EXCEPTION_LINE.search(str(exc))
    if found:
        return f"{found['type']}: {found['message']}"
    while (inner := getattr(exc, "cause", None) or exc.__cause__) is not None and inner is not exc:
        if not str(inner).strip():  # Ray Data chains an empty SystemException marker: not worth naming
            break
        exc = inner
    return f"{type(exc).__name__}: {first_line(exc)}"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
