"""Settings are read once, into a frozen object: the overdue period, the trace timing and the topic prefix included."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from domain.errors import InvalidField
from domain.shipment import DEFAULT_OVERDUE_DAYS
from domain.time import SECONDS_PER_DAY
from nodes.cli.federation import open_transport
from nodes.cli.invocation import Invocation
from nodes.errors import ConfigurationError
from nodes.settings import DEFAULT_TOPIC_PREFIX, Settings, TraceSettings


def test_defaults_without_environment():
    settings = Settings.load({})
    assert settings.overdue_days == DEFAULT_OVERDUE_DAYS == 30
    assert settings.trace == TraceSettings()
    assert settings.trace.autorespond is True
    assert settings.trace.within("routine") == (2 * SECONDS_PER_DAY, 30 * SECONDS_PER_DAY)
    assert settings.trace.within("urgent") == (1 * SECONDS_PER_DAY, 1 * SECONDS_PER_DAY)  # answered in 24 hours
    assert settings.topic_prefix == DEFAULT_TOPIC_PREFIX == "armsledger"


def test_every_setting_comes_from_the_environment_given():
    settings = Settings.load({"ARMSLEDGER_OVERDUE_DAYS": "365", "ARMSLEDGER_TRACE_AUTORESPOND": "no",
                              "ARMSLEDGER_TRACE_ACK_DAYS": "5", "ARMSLEDGER_TRACE_RESPONSE_DAYS": "60",
                              "ARMSLEDGER_TOPIC_PREFIX": "eu-test"})
    assert settings.overdue_days == 365
    assert settings.topic_prefix == "eu-test"
    assert settings.trace == TraceSettings(autorespond=False, acknowledge_days=5, respond_days=60)


def test_the_environment_is_read_once(monkeypatch):
    monkeypatch.setenv("ARMSLEDGER_OVERDUE_DAYS", "10")
    settings = Settings.load()
    monkeypatch.setenv("ARMSLEDGER_OVERDUE_DAYS", "20")
    assert settings.overdue_days == 10
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.overdue_days = 20  # type: ignore[misc]


@pytest.mark.parametrize("variable", ["ARMSLEDGER_OVERDUE_DAYS", "ARMSLEDGER_TRACE_ACK_DAYS",
                                      "ARMSLEDGER_TRACE_RESPONSE_DAYS"])
@pytest.mark.parametrize("value", ["soon", "-1", "2.5"])
def test_a_number_of_days_that_is_not_whole_is_refused_with_its_name(variable, value):
    with pytest.raises(InvalidField, match=f"{variable}={value!r} is not a whole number of days"):
        Settings.load({variable: value})


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "big", "9007199254740993", "1" * 40, "\u0661\u0662"])
def test_a_maximum_message_size_out_of_range_is_refused_with_its_name(value):
    with pytest.raises(InvalidField) as refused:
        Settings.load({"ARMSLEDGER_MAX_MESSAGE_BYTES": value})
    assert refused.value.field == "max_message_bytes"


def test_the_maximum_message_size_defaults_to_one_mebibyte_and_is_read_from_the_environment():
    assert Settings.load({}).max_message_bytes == 1 << 20
    assert Settings.load({"ARMSLEDGER_MAX_MESSAGE_BYTES": " 2048 "}).max_message_bytes == 2048


def _invocation(environ: dict[str, str]) -> Invocation:
    return Invocation(args=argparse.Namespace(home=None, db=None, kafka="127.0.0.1:9"), environ=environ)


def test_sync_and_node_run_open_their_transport_on_the_settings_topic_prefix():
    # The transport connects lazily: opening it reaches no broker.
    with open_transport(_invocation({"ARMSLEDGER_TOPIC_PREFIX": "eu-test"})) as transport:
        assert transport.topic_prefix == "eu-test"
        assert transport.inbox_topic("fr") == "eu-test.inbox.FR"
    with open_transport(_invocation({})) as transport:
        assert transport.topic_prefix == DEFAULT_TOPIC_PREFIX


def test_a_topic_prefix_that_cannot_start_a_topic_name_is_refused_when_the_transport_opens():
    with pytest.raises(ConfigurationError, match="topic prefix 'a b'"):
        open_transport(_invocation({"ARMSLEDGER_TOPIC_PREFIX": "a b"}))
