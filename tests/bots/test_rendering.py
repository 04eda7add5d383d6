"""Replies as Block Kit and Adaptive Cards, and Slack markup back to plain text."""

from __future__ import annotations

from simatch.bots.slack_blocks import blocks, plain_text
from simatch.bots.teams_cards import card, markdown
from simatch.chat.replies import Button, ItemView, Reply, SectionView, decode_action


def full_reply() -> Reply:
    item = ItemView(
        id="i1",
        title="A <b> & c|d",
        url="https://example.org/x",
        reason="Matches x",
        detail="Deadline 1.1.2027",
        buttons=[Button("👍", "feedback", {"m": "m1", "i": "i1", "v": "useful"})] * 2,
    )
    sections = [SectionView(key, key.title(), "hint", [item] * 3) for key in
                ("solutions", "peers", "funders")]  # fmt: skip
    footer = [Button("More", "more", {"q": "q1"}, "primary"), Button("Save", "save_need")]
    return Reply("answer", "en", "*Hello*", ["Only: Uusimaa"], sections, footer)


def test_slack_text_is_unwrapped() -> None:
    text = "<@UBOT> Kylätalo ry <mailto:a@b.fi|a@b.fi> &amp; <https://x.fi|site> &lt;3"
    assert plain_text(text) == "Kylätalo ry a@b.fi & site <3"


def test_block_kit_stays_within_slacks_limits() -> None:
    out = blocks(full_reply())
    assert len(out) <= 50
    ids = [e["action_id"] for b in out if b["type"] == "actions" for e in b["elements"]]
    assert len(ids) == len(set(ids)) == 20
    item = next(b for b in out if b["type"] == "section" and "example.org" in b["text"]["text"])
    assert item["text"]["text"].startswith("*<https://example.org/x|A &lt;b&gt; &amp; c¦d>*")
    values = [e["value"] for b in out if b["type"] == "actions" for e in b["elements"]]
    assert decode_action(values[-2]) == ("more", {"q": "q1"})


def test_adaptive_card_uses_teams_markdown_and_submit_actions() -> None:
    assert markdown("*Bold* and _it_, 2*3*4") == "**Bold** and _it_, 2*3*4"
    content = card(full_reply())
    assert content["version"] == "1.4" and content["body"][0]["text"] == "**Hello**"
    assert [a["title"] for a in content["actions"]] == ["More", "Save"]
    assert content["actions"][0]["style"] == "positive"
    data = content["actions"][0]["data"]["simatch"]
    assert decode_action(data) == ("more", {"q": "q1"})
