"""The contract in force, swappable while serving (--watch on --spec) without a restart."""

from __future__ import annotations

from pathlib import Path

from mockserver.contract.schemas import Contract
from mockserver.contract.spec import read_spec


class LiveContract:
    """Holds one compiled Contract; a request reads `current` once, so a swap never mixes two."""

    def __init__(self, contract: Contract) -> None:
        self.current = contract

    def swap(self, contract: Contract) -> None:
        self.current = contract


def load_contract(spec: Path | None, *, strict_spec: bool) -> Contract:
    """The bundled contract (compiled once per process), or the document at `spec`.

    Raises SpecError when the document cannot serve as the contract.
    """
    if spec is None:
        return Contract.load(strict_spec=strict_spec)
    return Contract.compile(strict_spec=strict_spec, document=read_spec(spec))
