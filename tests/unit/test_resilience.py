"""Retry policies and the circuit breaker, on a fake clock (no test waits)."""

from __future__ import annotations

import pytest

from medkb.config import ResilienceSettings, load_settings
from medkb.errors import ConfigError, InputError, LLMError, VectorStoreError
from medkb.resilience.breaker import (
    CircuitBreaker,
    CircuitOpen,
    LLMCircuitOpen,
    State,
    VectorStoreCircuitOpen,
)
from medkb.resilience.guard import guarded
from medkb.resilience.retry import NO_RETRY, POLICIES, RetryPolicy, Strategy, policy


class FakeClock:
    """A monotonic clock that moves only when told; ``sleep`` moves it too."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Flaky:
    """A dependency failing its first ``failures`` calls, then answering."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures, self.calls = failures, 0
        self.error = error or ConnectionError("refused")
        self.dimension = 3

    def fetch(self, value: int) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return value * 2


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (Strategy.FIXED, [1.0, 1.0, 1.0, 1.0, 1.0]),
        (Strategy.LINEAR, [1.0, 2.0, 3.0, 4.0, 5.0]),
        (Strategy.EXPONENTIAL, [1.0, 2.0, 4.0, 5.0, 5.0]),
        (Strategy.EXPONENTIAL_JITTER, [0.5, 1.0, 2.0, 2.5, 2.5]),  # draw() = 0.5
    ],
)
def test_each_strategy_grows_its_delay_and_caps_it(
    strategy: Strategy, expected: list[float]
) -> None:
    rule = RetryPolicy("t", strategy, attempts=6, base_s=1.0, cap_s=5.0)
    assert [rule.delay(n, draw=lambda: 0.5) for n in range(1, 6)] == expected
    with pytest.raises(ValueError):
        rule.delay(0)


def test_jitter_stays_between_zero_and_the_exponential_delay() -> None:
    rule = POLICIES["network"]
    for retry in range(1, 8):
        ceiling = min(rule.base_s * 2 ** (retry - 1), rule.cap_s)
        assert all(0 <= rule.delay(retry) <= ceiling for _ in range(50))


def test_named_policies_exist_and_unknown_names_are_refused() -> None:
    assert set(POLICIES) == {"default", "aggressive", "conservative", "network"}
    assert policy("network").strategy is Strategy.EXPONENTIAL_JITTER
    with pytest.raises(ConfigError, match="aggressive"):
        policy("reckless")


def test_a_call_is_retried_until_it_succeeds_with_the_policys_delays() -> None:
    clock, flaky = FakeClock(), Flaky(failures=2)
    assert POLICIES["default"].call(lambda: flaky.fetch(4), sleep=clock.sleep) == 8
    assert flaky.calls == 3 and clock.slept == [0.5, 1.0]


def test_the_last_error_is_raised_when_every_attempt_fails() -> None:
    clock, flaky = FakeClock(), Flaky(failures=99)
    with pytest.raises(ConnectionError):
        POLICIES["aggressive"].call(lambda: flaky.fetch(1), sleep=clock.sleep)
    assert flaky.calls == 6 and clock.slept == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])


def test_errors_outside_retry_on_or_in_give_up_on_are_raised_at_once() -> None:
    clock = FakeClock()
    flaky = Flaky(failures=99, error=InputError("bad"))
    with pytest.raises(InputError):
        POLICIES["default"].call(
            lambda: flaky.fetch(1), give_up_on=(InputError,), sleep=clock.sleep
        )
    with pytest.raises(InputError):
        POLICIES["default"].call(lambda: flaky.fetch(1), retry_on=(OSError,), sleep=clock.sleep)
    assert flaky.calls == 2 and clock.slept == []


def _breaker(clock: FakeClock, **kwargs: int | float) -> CircuitBreaker:
    return CircuitBreaker("vector store", clock=clock, **kwargs)  # type: ignore[arg-type]


def test_the_breaker_opens_after_the_threshold_and_refuses_calls_while_open() -> None:
    clock = FakeClock()
    breaker, flaky = _breaker(clock, failures=3, reset_s=10), Flaky(failures=99)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            breaker.call(lambda: flaky.fetch(1))
    assert breaker.state is State.CLOSED
    with pytest.raises(ConnectionError):
        breaker.call(lambda: flaky.fetch(1))
    assert breaker.state is State.OPEN and breaker.opened_count == 1
    clock.now += 4
    with pytest.raises(CircuitOpen, match=r"6\.0 s") as refused:
        breaker.call(lambda: flaky.fetch(1))
    assert refused.value.retry_after_s == pytest.approx(6.0)
    assert flaky.calls == 3  # the refused call never reached the dependency
    assert breaker.retry_after() == pytest.approx(6.0)


def test_a_success_in_between_resets_the_count_of_failures() -> None:
    clock = FakeClock()
    breaker = _breaker(clock, failures=2)
    breaker.failed()
    breaker.succeeded()
    breaker.failed()
    assert breaker.state is State.CLOSED


def test_half_open_lets_trial_calls_through_and_closes_when_they_succeed() -> None:
    clock = FakeClock()
    breaker, flaky = _breaker(clock, failures=1, reset_s=10, trial_calls=2), Flaky(failures=1)
    with pytest.raises(ConnectionError):
        breaker.call(lambda: flaky.fetch(1))
    clock.now += 10
    assert breaker.state is State.HALF_OPEN and breaker.retry_after() == 0
    assert breaker.call(lambda: flaky.fetch(2)) == 4
    assert breaker.state is State.HALF_OPEN  # one of two trials passed
    assert breaker.call(lambda: flaky.fetch(3)) == 6
    assert breaker.state is State.CLOSED


def test_a_failed_trial_opens_the_circuit_again_for_a_full_reset_time() -> None:
    clock = FakeClock()
    breaker, flaky = _breaker(clock, failures=1, reset_s=10), Flaky(failures=2)
    with pytest.raises(ConnectionError):
        breaker.call(lambda: flaky.fetch(1))
    clock.now += 10
    with pytest.raises(ConnectionError):
        breaker.call(lambda: flaky.fetch(1))
    assert breaker.state is State.OPEN and breaker.opened_count == 2
    clock.now += 9
    with pytest.raises(CircuitOpen):
        breaker.call(lambda: flaky.fetch(1))
    clock.now += 1
    assert breaker.call(lambda: flaky.fetch(5)) == 10
    assert breaker.state is State.CLOSED


def test_half_open_refuses_calls_beyond_the_trials_in_flight() -> None:
    clock = FakeClock()
    breaker = _breaker(clock, failures=1, reset_s=1)
    breaker.failed()
    clock.now += 1
    breaker.before_call()  # the one trial
    with pytest.raises(CircuitOpen):
        breaker.before_call()


def test_a_guarded_dependency_retries_each_call_and_counts_one_failure_per_call() -> None:
    clock, flaky = FakeClock(), Flaky(failures=1)
    breaker = _breaker(clock, failures=1, reset_s=30)
    proxy = guarded(flaky, breaker=breaker, policy=POLICIES["default"], sleep=clock.sleep)
    assert proxy.dimension == 3  # attributes pass through
    assert proxy.fetch(5) == 10 and flaky.calls == 2 and breaker.state is State.CLOSED
    flaky.failures = 99
    with pytest.raises(ConnectionError):
        proxy.fetch(1)
    assert breaker.state is State.OPEN and flaky.calls == 5
    with pytest.raises(CircuitOpen):
        proxy.fetch(1)
    assert flaky.calls == 5


def test_caller_errors_through_a_guard_are_neither_retried_nor_counted() -> None:
    clock, flaky = FakeClock(), Flaky(failures=99, error=InputError("bad record"))
    breaker = _breaker(clock, failures=1)
    proxy = guarded(flaky, breaker=breaker, policy=POLICIES["network"], sleep=clock.sleep)
    with pytest.raises(InputError):
        proxy.fetch(1)
    assert flaky.calls == 1 and breaker.state is State.CLOSED
    assert NO_RETRY.call(lambda: 7) == 7


def test_retry_policies_are_chosen_per_dependency_and_checked_at_start() -> None:
    chosen = ResilienceSettings(retry={"embedder": "aggressive"})
    assert chosen.policy_name("embedder") == "aggressive"
    assert chosen.policy_name("vector_store") == "network"  # the others keep theirs
    assert ResilienceSettings().policy_name("vector_store") == "network"
    with pytest.raises(ConfigError, match=r"MEDKB_RESILIENCE__RETRY.*reckless"):
        load_settings(resilience={"retry": {"embedder": "reckless"}})
    with pytest.raises(ConfigError, match="unknown dependency 'printer'"):
        load_settings(resilience={"retry": {"printer": "default"}})


def test_breaker_thresholds_are_set_per_dependency_over_the_general_ones() -> None:
    tuning = ResilienceSettings(
        breaker_failures=4, breaker={"llm": {"failures": 2, "reset_s": 120}}
    )
    assert tuning.breaker_thresholds("llm") == (2, 120.0, 1)
    assert tuning.breaker_thresholds("vector_store") == (4, 30.0, 1)
    with pytest.raises(ConfigError, match="unknown dependency 'printer' in breaker"):
        load_settings(resilience={"breaker": {"printer": {"failures": 2}}})
    with pytest.raises(ConfigError, match="BREAKER__LLM__FAILURES"):
        load_settings(resilience={"breaker": {"llm": {"failures": 0}}})


def test_an_open_circuit_raises_the_dependencys_own_error_kind() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(
        "vector store", failures=1, reset_s=10, clock=clock, refusal=VectorStoreCircuitOpen
    )
    with pytest.raises(ConnectionError):
        breaker.call(lambda: Flaky(1).fetch(1))
    with pytest.raises(VectorStoreError, match="vector store is unavailable") as refused:
        breaker.before_call()
    assert isinstance(refused.value, CircuitOpen) and refused.value.retry_after_s == 10
    assert issubclass(LLMCircuitOpen, LLMError) and issubclass(LLMCircuitOpen, CircuitOpen)
