"""Lists of plain objects answered by api.graphql.leaf_lists give graphql-core's own answer:
the same queries run through both paths (the fast one switched off) must agree byte for byte,
aliases, `__typename`, `@include`/`@skip`, nulls and enums included; and the fast path really
answers the lists it is meant for."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.graphql import leaf_lists
from tests.api.test_curves import curves, world  # noqa: F401 (the module's fixtures)
from tests.factories import World
from tests.ids import gid
from tests.runner import Runner

QUERY = """
query($ids: [ID!]!, $from: Date!, $to: Date!, $step: CurveStep!, $yes: Boolean!) {
  consumptionCurve(siteIds: $ids, from: $from, to: $to, step: $step) {
    points { __typename at: start energyKwh meanPowerKw maxPowerKw @include(if: $yes)
             quality kind: quality start @skip(if: $yes) }
    series { starts energyKwh maxPowerKw qualities }
    site { pointNumber meters { serial } }
  }
}"""


async def _answers(runner: Runner, people: World, variables: dict[str, Any]) -> str:
    data = await runner.run(QUERY, variables, as_user=people.people["ADMIN"])
    return json.dumps(data, sort_keys=False)


@pytest.mark.parametrize("step", ["HALF_HOUR", "DAY"])
@pytest.mark.parametrize("yes", [True, False])
async def test_the_fast_path_answers_as_graphql_core(
    runner: Runner,
    curves: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    step: str,
    yes: bool,
) -> None:
    # given a curve with missing points (nulls) and every quality, over the March change
    variables = {
        "ids": [gid("Site", curves.sites[0].id)],
        "from": "2026-03-28",
        "to": "2026-03-31",
        "step": step,
        "yes": yes,
    }
    answered: list[int] = []
    fast = leaf_lists.LeafListsExecutionContext._fast

    def counted(self: Any, *args: Any) -> Any:
        done = fast(self, *args)
        answered.append(done is not None)
        return done

    monkeypatch.setattr(leaf_lists.LeafListsExecutionContext, "_fast", counted)
    # when it is read with the fast path, then without it
    quick = await _answers(runner, curves, variables)
    assert sum(answered) >= 5  # points and the four series columns at least
    monkeypatch.setattr(leaf_lists.LeafListsExecutionContext, "_fast", lambda *_: None)
    slow = await _answers(runner, curves, variables)
    # then the answers are the same bytes
    assert quick == slow
    assert '"energyKwh": null' in quick and '"__typename": "LoadCurvePoint"' in quick


def test_a_null_in_a_non_null_field_goes_back_to_graphql_core() -> None:
    # graphql-core reports it (an error at its path): the fast path must not answer it
    with pytest.raises(leaf_lists._Fallback):
        leaf_lists._leaf(object(), True, None)


async def test_a_repeated_query_is_validated_once(
    runner: Runner,
    curves: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given the validation counted (the depth and alias rules used to be new classes per
    # request, so the validation cache never hit)
    import strawberry.schema.schema as strawberry_schema

    calls: list[int] = []
    validate = strawberry_schema.validate

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return validate(*args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "validate", counted)
    variables = {
        "ids": [gid("Site", curves.sites[0].id)],
        "from": "2026-03-28",
        "to": "2026-03-28",
        "step": "DAY",
        "yes": True,
    }
    document = QUERY + "\n# a text of its own: not validated by an earlier test\n"
    # when the same document runs three times
    for _ in range(3):
        await runner.run(document, variables, as_user=curves.people["ADMIN"])
    # then it was validated once
    assert len(calls) == 1


def test_the_inlined_coercions_answer_as_the_types_do() -> None:
    from graphql import GraphQLError, GraphQLFloat

    from api.schema.schema import build_schema
    from domain.enums import CurveQuality

    floats = leaf_lists._coercer(GraphQLFloat, False)
    for value in (1.5, 0.0, 2, True, "3.25", None):
        expected = None if value is None else GraphQLFloat.coerce_output_value(value)
        assert floats(value) == expected and type(floats(value)) is type(expected)
    with pytest.raises(GraphQLError):
        floats(float("inf"))
    enum = build_schema()._schema.get_type("CurveQuality")
    qualities = leaf_lists._coercer(enum, True)
    for quality in (*CurveQuality, *CurveQuality):  # the second time from the memo
        assert qualities(quality) == enum.coerce_output_value(quality)
    with pytest.raises(leaf_lists._Fallback):
        qualities(None)
