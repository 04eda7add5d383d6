from __future__ import annotations

import pytest

from simatch.chat.engine import Engine
from simatch.wiring import Container
from tests.chat.data import CALIBRATION, fill
from tests.conftest import ContainerFactory


@pytest.fixture
def container(make_container: ContainerFactory) -> Container:
    return fill(make_container(calibration=CALIBRATION))


@pytest.fixture
def engine(container: Container) -> Engine:
    return container.chat_engine
