"""The ``kafka`` bus: topics of a Kafka-protocol broker, read by Kafka consumer groups.

``kafka://HOST:PORT[,HOST:PORT…][?partitions=N]`` (confluent-kafka). A topic is created
with ``N`` partitions (default 4) the first time it is used; the workers of a group share
them, Kafka moving partitions between members as workers come and go.

How the :class:`~medkb.stream.bus.base.Bus` contract maps onto offsets:

- **publish**: one call's events go to one partition (round robin between calls), so a
  batch keeps its order; bus ids are ``"PARTITION:OFFSET"``.
- **ack**: a group's offset on a partition is committed only up to the first delivery not
  yet acked — the worker acks after the stores commit, so an event is never skipped.
- **redelivery**: a delivery this bus holds unacked past its visibility time is delivered
  again by it; when a consumer dies or leaves, Kafka gives its partitions to another
  member, which resumes from the committed offset: the dead consumer's batch is delivered
  again at once (not after the visibility time, as on the ``db`` and ``redis`` buses).
- **attempts**: Kafka does not count deliveries, so the bus keeps two small ledgers as
  offsets of side groups (Kafka stores a group's offsets durably; commit metadata would be
  the natural place but some brokers, Tansu among them, drop it):
  ``<group>.medkb-delivered`` holds how far each partition was handed out, and
  ``<group>.medkb-redelivered`` the committed offset at the last takeover and how many
  takeovers found it unchanged (packed as ``offset * 1024 + count``). A new owner
  delivers the range between the committed offset and the handed-out mark as attempt
  ``count + 1``: an event that kills every worker reaches ``max_deliveries`` and is
  dead-lettered instead of looping. The count restarts when the committed offset moves,
  so it can undercount an event that shares batches with events applied around it.
- **dead letters**: records of ``<topic>.dlq`` (one partition: oldest first) holding the
  reason, the payload and the origin (the ``bus_id`` is the event's partition and offset).
  Kafka cannot delete one record, so removing a dead letter appends a tombstone
  ``{"removed": ID}`` that listing honours; listing reads the whole dead-letter topic.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from medkb.errors import ConfigError, StoreError, missing_dependency
from medkb.stream.bus.base import DeadLetter, Message
from medkb.sync.apply import utcnow

log = logging.getLogger(__name__)

#: Partitions of a topic the bus creates (``?partitions=N`` in the URL overrides it).
DEFAULT_PARTITIONS = 4
#: Seconds a consumer waits for its group to give it partitions before it reports empty.
JOIN_TIMEOUT_S = 30.0
#: Seconds a consumer keeps fetching while the broker says events are waiting for it.
BACKLOG_WAIT_S = 5.0
#: Seconds a request (publish, metadata, commit) may take before the broker is "down".
REQUEST_TIMEOUT_S = 10.0
#: The redelivery count is packed in a side group's offset as ``base * PACK + count``.
PACK = 1024
#: A group member leaves after this much silence (6 s: the default 45 s makes a dead
#: worker's partitions wait, and group joins slow).
SESSION_TIMEOUT_MS = 6000
#: Longest a fetch waits at the broker for new events (see ``_Reader``).
FETCH_WAIT_MS = 50


def _bootstrap(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    servers = parts.netloc.rsplit("@", 1)[-1]
    if not servers:
        raise ConfigError(f"--bus {url!r} names no broker: use kafka://HOST:PORT.")
    query = parse_qs(parts.query)
    try:
        partitions = int(query.get("partitions", [DEFAULT_PARTITIONS])[0])
    except ValueError as exc:
        raise ConfigError(f"--bus {url!r}: ?partitions= must be a whole number.") from exc
    if partitions < 1:
        raise ConfigError(f"--bus {url!r}: ?partitions= must be at least 1.")
    return servers, partitions


@dataclass
class _Held:
    """A delivery this bus handed out and the group has not acked yet."""

    message: Message
    until: float
    acked: bool = False


class KafkaBus:
    """A :class:`~medkb.stream.bus.base.Bus` on a Kafka-protocol broker."""

    def __init__(self, url: str, *, visibility_s: float = 30.0) -> None:
        try:
            import confluent_kafka
            from confluent_kafka import admin
        except ImportError as exc:
            raise missing_dependency("confluent-kafka", "kafka", "The kafka event bus") from exc
        self._kafka: Any = confluent_kafka
        self._admin_module: Any = admin
        servers, self.partitions = _bootstrap(url)
        self.url = f"kafka://{servers}"
        self.visibility_s = visibility_s
        self._base = {"bootstrap.servers": servers, "logger": log}
        self._producer: Any = None
        self._admin: Any = None
        self._known_topics: set[str] = set()
        self._next_partition: dict[str, int] = {}
        self._readers: dict[tuple[str, str], _Reader] = {}

    # ---- publishing -----------------------------------------------------------------

    def publish(self, topic: str, bodies: list[str]) -> list[str]:
        """Produce the events to one partition of ``topic`` and wait for the broker."""
        if not bodies:
            return []
        self._ensure_topic(topic, self.partitions)
        partition = self._next_partition.get(topic, 0) % self.partitions
        self._next_partition[topic] = partition + 1
        return self._produce(topic, partition, [b.encode("utf-8") for b in bodies])

    def _produce(self, topic: str, partition: int, values: list[bytes]) -> list[str]:
        producer = self._producer_client()
        ids: list[str | None] = [None] * len(values)
        failures: list[str] = []

        def delivered(index: int) -> Any:
            def report(error: Any, record: Any) -> None:
                if error is not None:
                    failures.append(str(error))
                else:
                    ids[index] = f"{record.partition()}:{record.offset()}"

            return report

        with self._errors():
            for index, value in enumerate(values):
                producer.produce(
                    topic, value=value, partition=partition, on_delivery=delivered(index)
                )
                producer.poll(0)
            producer.flush(REQUEST_TIMEOUT_S * 2)
        if failures or None in ids:
            self._known_topics.discard(topic)  # a restarted broker may have lost it
            why = failures[0] if failures else "no answer in time"
            raise StoreError(
                f"The kafka bus at {self.url} did not take {ids.count(None)} of {len(values)} "
                f"events on {topic!r} ({why}). Start the broker or fix --bus, then send "
                "them again (event ids make a repeat harmless)."
            )
        return [str(i) for i in ids]

    # ---- consuming ------------------------------------------------------------------

    def consume(
        self, topic: str, *, group: str, consumer: str, count: int, block_s: float = 0.0
    ) -> list[Message]:
        """Expired deliveries this bus holds first, then new events of its partitions."""
        return self._reader(topic, group, consumer).take(count, block_s)

    def ack(self, topic: str, *, group: str, ids: list[str]) -> None:
        """Mark deliveries done and commit each partition's offset past the acked prefix.

        Only the bus that consumed a delivery can ack it (Kafka commits a member's
        offsets); acks for partitions Kafka has since moved to another member are
        dropped — that member delivers the events again, and they apply once.
        """
        reader = self._readers.get((topic, group))
        if reader is not None and ids:
            reader.ack(ids)

    def dead_letter(
        self, topic: str, *, group: str, message: Message, reason: str, origin: dict[str, Any]
    ) -> None:
        """Append the dead letter to ``<topic>.dlq``, then ack the delivery."""
        entry = {
            "topic": topic,
            "group": group,
            "reason": reason,
            "payload": message.body,
            "origin": origin,
            "created_at": utcnow().isoformat(),
        }
        self._ensure_topic(topic + ".dlq", 1)
        self._produce(topic + ".dlq", 0, [json.dumps(entry).encode("utf-8")])
        self.ack(topic, group=group, ids=[message.id])

    # ---- dead letters ---------------------------------------------------------------

    def dead_letters(self, topic: str, *, limit: int = 100) -> list[DeadLetter]:
        """The live dead letters of ``topic`` (tombstoned ones left out), oldest first."""
        return list(self._read_dead(topic).values())[:limit]

    def count_dead_letters(self, topic: str) -> int:
        """How many live dead letters ``<topic>.dlq`` holds (it reads them all)."""
        return len(self._read_dead(topic))

    def remove_dead_letter(self, topic: str, dead_id: str) -> bool:
        """Append a tombstone for ``dead_id``; False when it is not a live dead letter."""
        if dead_id not in self._read_dead(topic):
            return False
        self._produce(topic + ".dlq", 0, [json.dumps({"removed": dead_id}).encode("utf-8")])
        return True

    def _read_dead(self, topic: str) -> dict[str, DeadLetter]:
        name = topic + ".dlq"
        if not self._topic_exists(name):
            return {}
        live: dict[str, DeadLetter] = {}
        for dead_id, value in self._read_all(name):
            entry = json.loads(value)
            if "removed" in entry:
                live.pop(entry["removed"], None)
            else:
                live[dead_id] = DeadLetter(id=dead_id, **entry)
        return live

    def _read_all(self, name: str) -> list[tuple[str, bytes]]:
        """Every record of partition 0 of ``name``, read without a group."""
        kafka = self._kafka
        reader = kafka.Consumer(
            {**self._base, "group.id": "medkb-dlq-reader", "enable.auto.commit": False}
        )
        try:
            with self._errors():
                low, high = reader.get_watermark_offsets(
                    kafka.TopicPartition(name, 0), timeout=REQUEST_TIMEOUT_S
                )
                records: list[tuple[str, bytes]] = []
                if high <= low:
                    return records
                reader.assign([kafka.TopicPartition(name, 0, low)])
                deadline = time.monotonic() + REQUEST_TIMEOUT_S * 3
                while len(records) < high - low and time.monotonic() < deadline:
                    for record in reader.consume(num_messages=500, timeout=0.5):
                        if record.error() is None:
                            records.append((f"0:{record.offset()}", record.value() or b"{}"))
        finally:
            reader.close()
        if len(records) < high - low:
            raise StoreError(
                f"The kafka bus at {self.url} gave {len(records)} of {high - low} records of "
                f"{name!r} in time. Check the broker and retry."
            )
        return records

    # ---- topics, clients, health -----------------------------------------------------

    def _producer_client(self) -> Any:
        if self._producer is None:
            self._producer = self._kafka.Producer(
                {**self._base, "acks": "all", "message.timeout.ms": int(REQUEST_TIMEOUT_S * 1000)}
            )
        return self._producer

    def _admin_client(self) -> Any:
        if self._admin is None:
            self._admin = self._admin_module.AdminClient(dict(self._base))
        return self._admin

    def _topic_exists(self, name: str) -> bool:
        if name in self._known_topics:
            return True
        with self._errors():
            topics = self._admin_client().list_topics(timeout=REQUEST_TIMEOUT_S).topics
        if name in topics:
            self._known_topics.add(name)
        return name in topics

    def _ensure_topic(self, name: str, partitions: int) -> None:
        if self._topic_exists(name):
            return
        new = self._admin_module.NewTopic(name, num_partitions=partitions, replication_factor=1)
        future = self._admin_client().create_topics([new], operation_timeout=REQUEST_TIMEOUT_S)
        try:
            future[name].result(REQUEST_TIMEOUT_S)
        except self._kafka.KafkaException as exc:
            if exc.args[0].code() != self._kafka.KafkaError.TOPIC_ALREADY_EXISTS:
                raise self._unreachable(exc) from exc
        self._known_topics.add(name)

    def _reader(self, topic: str, group: str, consumer: str) -> _Reader:
        key = (topic, group)
        if key not in self._readers:
            self._ensure_topic(topic, self.partitions)
            self._readers[key] = _Reader(self, topic, group, consumer)
        return self._readers[key]

    def assignment(self, topic: str, group: str) -> list[int]:
        """The partitions of ``topic`` Kafka gives this bus's member of ``group`` now."""
        reader = self._readers.get((topic, group))
        return list(reader.assigned) if reader else []

    def ping(self) -> None:
        """Ask the broker for its metadata."""
        with self._errors():
            self._admin_client().list_topics(timeout=5)

    def close(self) -> None:
        """Leave the groups (Kafka hands their partitions to the members left) and flush."""
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()
        if self._producer is not None:
            self._producer.flush(REQUEST_TIMEOUT_S)

    def _unreachable(self, exc: BaseException) -> StoreError:
        return StoreError(
            f"The kafka bus at {self.url} is unreachable or refused ({exc}). Start the "
            "broker or fix --bus; uncommitted events stay on their topic."
        )

    def _errors(self) -> _Translate:
        return _Translate(self)


class _Translate:
    """confluent-kafka errors become :class:`StoreError` naming the bus and what to do."""

    def __init__(self, bus: KafkaBus) -> None:
        self.bus = bus

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, _tb: Any) -> None:
        if exc is not None and isinstance(exc, self.bus._kafka.KafkaException):
            raise self.bus._unreachable(exc) from exc


class _Reader:
    """One group member on one topic: its deliveries in flight and its ledgers."""

    def __init__(self, bus: KafkaBus, topic: str, group: str, name: str) -> None:
        kafka = bus._kafka
        self.bus, self.topic, self.group, self.kafka = bus, topic, group, kafka
        member = {
            **bus._base,
            "group.id": group,
            "client.id": name,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": SESSION_TIMEOUT_MS,
            "heartbeat.interval.ms": 1000,
            # The broker answers a fetch at once when events wait, else after this long:
            # librdkafka's 500 ms default put a quarter second on every live event.
            "fetch.wait.max.ms": FETCH_WAIT_MS,
            # Notice soon a topic (re)created under a subscription, e.g. after the
            # broker lost it in a restart (the default looks every 5 minutes).
            "topic.metadata.refresh.interval.ms": 5000,
        }
        self.consumer = kafka.Consumer(member)
        ledger = {**bus._base, "enable.auto.commit": False}
        self.delivered = kafka.Consumer({**ledger, "group.id": f"{group}.medkb-delivered"})
        self.redelivered = kafka.Consumer({**ledger, "group.id": f"{group}.medkb-redelivered"})
        self.held: dict[int, dict[int, _Held]] = {}
        self.replaying: dict[int, tuple[int, int]] = {}  # partition -> (below, attempts)
        self.frontier: dict[int, int] = {}
        self.assigned: list[int] = []
        self.settling: list[int] = []
        self._subscribe()

    def _subscribe(self) -> None:
        self.consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)

    def _on_assign(self, _consumer: Any, partitions: list[Any]) -> None:
        self.settling += [tp.partition for tp in partitions]
        self.assigned = sorted({*self.assigned, *(tp.partition for tp in partitions)})

    def _on_revoke(self, _consumer: Any, partitions: list[Any]) -> None:
        gone = {tp.partition for tp in partitions}
        for partition in gone:  # the new owner delivers these again, from the committed offset
            self.held.pop(partition, None)
            self.replaying.pop(partition, None)
            self.frontier.pop(partition, None)
        self.assigned = [p for p in self.assigned if p not in gone]

    def take(self, count: int, block_s: float) -> list[Message]:
        now = time.monotonic()
        out = self._expired(now, count)
        deadline, joined_by = now + block_s, now + JOIN_TIMEOUT_S
        fresh = False
        with self.bus._errors():
            while len(out) < count:
                records = self.consumer.consume(num_messages=count - len(out), timeout=0.1)
                self._settle()
                taken = [self._hold(r) for r in records if self._usable(r)]
                out += taken
                fresh = fresh or bool(taken)
                if out or not self._keep_waiting(deadline, joined_by):
                    break
            if fresh:
                self._mark_delivered()
        return out

    def _keep_waiting(self, deadline: float, joined_by: float) -> bool:
        now = time.monotonic()
        if not self.assigned:
            return now < max(deadline, joined_by)
        return now < deadline or (now < deadline + BACKLOG_WAIT_S and self._backlog())

    def _usable(self, record: Any) -> bool:
        error = record.error()
        if error is None:
            return True
        if error.fatal():
            raise self.kafka.KafkaException(error)
        log.warning("kafka bus %s: %s", self.bus.url, error)
        return False

    def _hold(self, record: Any) -> Message:
        partition, offset = record.partition(), record.offset()
        below, attempts = self.replaying.get(partition, (0, 1))
        body = (record.value() or b"").decode("utf-8", errors="replace")
        message = Message(f"{partition}:{offset}", body, attempts if offset < below else 1)
        until = time.monotonic() + self.bus.visibility_s
        self.held.setdefault(partition, {})[offset] = _Held(message, until)
        self.frontier[partition] = max(self.frontier.get(partition, 0), offset + 1)
        return message

    def _expired(self, now: float, count: int) -> list[Message]:
        out: list[Message] = []
        for held in (h for by_offset in self.held.values() for h in by_offset.values()):
            if len(out) >= count:
                break
            if not held.acked and held.until <= now:
                m = held.message
                held.message = Message(m.id, m.body, m.attempts + 1)
                held.until = now + self.bus.visibility_s
                out.append(held.message)
        return out

    def _backlog(self) -> bool:
        """Whether the broker holds events past this member's position."""
        tps = [self.kafka.TopicPartition(self.topic, p) for p in self.assigned]
        for tp in self.consumer.position(tps):
            low, high = self.consumer.get_watermark_offsets(tp, timeout=REQUEST_TIMEOUT_S)
            if high > max(tp.offset, low):  # a position < 0: not fetched yet, starts at low
                return True
        return False

    def _settle(self) -> None:
        """For partitions just assigned: deliveries handed out before and not committed
        are redeliveries; count them in the ledger (see the module docstring)."""
        if not self.settling:
            return
        settling, self.settling = self.settling, []
        tps = [self.kafka.TopicPartition(self.topic, p) for p in settling]
        committed = self.consumer.committed(tps, timeout=REQUEST_TIMEOUT_S)
        marks = {
            tp.partition: tp.offset
            for tp in self.delivered.committed(tps, timeout=REQUEST_TIMEOUT_S)
        }
        counts = {
            tp.partition: tp.offset
            for tp in self.redelivered.committed(tps, timeout=REQUEST_TIMEOUT_S)
        }
        updates = []
        for tp in committed:
            base = max(tp.offset, 0)
            handed_out = marks.get(tp.partition, -1)
            if handed_out <= base:
                continue
            packed = counts.get(tp.partition, -1)
            takeovers = packed % PACK + 1 if packed >= 0 and packed // PACK == base else 1
            takeovers = min(takeovers, PACK - 1)
            self.replaying[tp.partition] = (handed_out, takeovers + 1)
            updates.append(
                self.kafka.TopicPartition(self.topic, tp.partition, base * PACK + takeovers)
            )
        if updates:
            self.redelivered.commit(offsets=updates, asynchronous=False)

    def _mark_delivered(self) -> None:
        marks = [self.kafka.TopicPartition(self.topic, p, o) for p, o in self.frontier.items()]
        self.delivered.commit(offsets=marks, asynchronous=False)

    def ack(self, ids: list[str]) -> None:
        touched: set[int] = set()
        for partition, offset in filter(None, map(_position, ids)):
            held = self.held.get(partition, {}).get(offset)
            if held is not None:
                held.acked = True
                touched.add(partition)
        commits = []
        for partition in touched:
            done = _pop_acked_prefix(self.held[partition])
            if done is not None:
                commits.append(self.kafka.TopicPartition(self.topic, partition, done + 1))
        if commits:
            self._commit(commits)

    def _commit(self, offsets: list[Any]) -> None:
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except self.kafka.KafkaException as exc:
            error = exc.args[0]
            if error.code() in (
                self.kafka.KafkaError.REBALANCE_IN_PROGRESS,
                self.kafka.KafkaError.ILLEGAL_GENERATION,
                self.kafka.KafkaError.UNKNOWN_MEMBER_ID,
            ):
                log.warning(
                    "kafka bus %s: commit lost to a rebalance (%s); the new owner "
                    "delivers those events again",
                    self.bus.url,
                    error,
                )
                return
            raise self.bus._unreachable(exc) from exc

    def close(self) -> None:
        for client in (self.consumer, self.delivered, self.redelivered):
            client.close()


def _pop_acked_prefix(by_offset: dict[int, _Held]) -> int | None:
    """Drop the acked deliveries at the front (lowest offsets); the last offset dropped."""
    done = None
    for offset in list(by_offset):
        if not by_offset[offset].acked:
            break
        del by_offset[offset]
        done = offset
    return done


def _position(bus_id: str) -> tuple[int, int] | None:
    """``"PARTITION:OFFSET"`` as numbers; None for an id this bus never gave."""
    partition, _, offset = bus_id.partition(":")
    if not (partition.isdigit() and offset.isdigit()):
        return None
    return int(partition), int(offset)
