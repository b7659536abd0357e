"""Typed wiring (core.ports): rooms fetch their ports by class; a port not wired says so."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sarhad.alerts.ports import AlertPorts
from sarhad.app import create_app
from sarhad.core.api import Node, WebSession
from sarhad.core.config import Settings
from sarhad.core.db import Database
from sarhad.core.feed import FeedSources
from sarhad.core.ports import CourierPort, MissingPort, Ports
from sarhad.crossings.ports import CrossingPorts
from sarhad.patrols.ports import PatrolPorts
from sarhad.patrols.runner import PlanRunner


@dataclass
class Lamp:
    lit: bool = False


def test_a_port_is_found_by_its_class_and_a_missing_one_is_named() -> None:
    lamp = Lamp()
    ports = Ports(lamp)
    assert ports.get(Lamp) is lamp and Lamp in ports
    assert ports.find(CourierPort) is None and CourierPort not in ports
    with pytest.raises(MissingPort, match="not wired with CourierPort") as missing:
        ports.get(CourierPort)
    assert missing.value.hint is not None and "sarhad.app" in missing.value.hint


def test_one_port_of_each_class() -> None:
    with pytest.raises(ValueError, match="Lamp is wired twice"):
        Ports(Lamp(), Lamp())


def test_the_node_wakes_the_courier_through_its_one_port(settings: Settings, db: Database) -> None:
    woken: list[str] = []
    n = Node(settings=settings, db=db, profile=None, courier=CourierPort(lambda: woken.append("!")))
    n.wake()
    n.wake()
    assert woken == ["!", "!"]
    Node(settings=settings, db=db, profile=None).wake()  # wired with no courier: nothing to do
    with pytest.raises(MissingPort, match="AlertPorts"):
        n.port(AlertPorts)


def test_the_app_wires_every_port_the_rooms_fetch(settings: Settings, db: Database) -> None:
    app = create_app(settings, db=db)
    n = app.state.node
    for kind in (AlertPorts, CrossingPorts, PatrolPorts, PlanRunner, FeedSources, WebSession):
        assert isinstance(n.port(kind), kind)
    assert n.port(CrossingPorts).alerts is n.port(AlertPorts)
    assert set(n.port(FeedSources)) == {"incident", "alert", "patrol_plan", "crossing_declaration"}
