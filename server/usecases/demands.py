"""Meetings on demand (R2, issue 13): load the demands (folded from their one stream), let the
domain decide, append behind the count of events the decision saw. Two writes decided on the
same state: the second is decided again on the state with the first (a resident's second
support is then refused), so nothing is counted twice."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from moderation import Conflict
from moderation import demands as domain
from moderation.demands import Demand, DemandEvent
from server.store import Refused, Write
from server.usecases.context import UseCases

TRIES = 5
Decide = Callable[[dict[str, Demand]], DemandEvent]


async def _append(cases: UseCases, decide: Decide) -> Demand:
    store = cases.store.demands
    for _ in range(TRIES):
        count, demands = await store.demands()
        event = decide(demands)
        write = Write()
        store.append(write, count, event)
        if not isinstance(await cases.store.record.run(write), Refused):
            return domain.apply(demands, event)[event.demand]
    raise Conflict("the demands kept changing; try again")


async def listed(cases: UseCases) -> list[Demand]:
    _, demands = await cases.store.demands.demands()
    return domain.listed(demands)


async def make(cases: UseCases, body: Mapping[str, object], *, supporter: str) -> Demand:
    """A resident's demand for a meeting outside the calendar; they support it first."""
    offices = (await cases.store.offices.ledger()).offices
    return await _append(
        cases,
        lambda demands: domain.make(
            demands, body, offices=offices, supporter=supporter, at=cases.clock()
        ),
    )


async def support(cases: UseCases, demand_id: str, *, supporter: str) -> Demand:
    """One more supporter (`Conflict` for one who supported it already)."""
    return await _append(
        cases,
        lambda demands: domain.support(
            domain.get(demands, demand_id), supporter=supporter, at=cases.clock()
        ),
    )


async def answer(cases: UseCases, demand_id: str, body: Mapping[str, object], *, by: str) -> Demand:
    """The akimat's answer, recorded by staff (`by`)."""
    return await _append(
        cases,
        lambda demands: domain.answer(
            domain.get(demands, demand_id), body, by=by, at=cases.clock()
        ),
    )
