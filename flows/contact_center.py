"""The contact-center tools the bot offers callers."""

from __future__ import annotations

from importlib import resources

from flows import account
from flows.call_state import FlowState
from flows.callbacks import CallbackBook
from flows.callbacks import register as register_callbacks
from flows.crm import CrmBackend
from flows.knowledge import KnowledgeBase
from flows.registry import CallContext, FlowError, ToolRegistry, ToolResult


def instructions() -> str:
    """The assistant's instructions: persona, greeting and the facts it may state."""
    return resources.files("flows").joinpath("assistant.md").read_text()


def build_registry(crm: CrmBackend, state: FlowState, kb: KnowledgeBase | None = None,
                   callbacks: CallbackBook | None = None) -> ToolRegistry:  # fmt: skip
    registry = ToolRegistry()
    account.register(registry, crm, state)
    if callbacks is not None:
        register_callbacks(registry, callbacks)
    knowledge = kb or KnowledgeBase()

    @registry.tool(
        "Answer a general question about the company from the knowledge base.",
        examples=("what are your opening hours", "what is your return policy", "do you charge for shipping",
                  "my internet is down", "I'm moving house", "how can I pay"),
    )  # fmt: skip
    async def answer_question(question: str) -> ToolResult:
        passage = knowledge.best(question)
        if passage is None:
            return ToolResult({"message": "I don't have an answer to that. Would you like me to transfer you to "
                                          "an agent?", "source": None})  # fmt: skip
        return ToolResult({"message": f"From our {passage.title.lower()} page: {passage.text}",
                           "source": passage.title})  # fmt: skip

    @registry.tool(
        "Look up the status of an order.",
        examples=("where is my order", "track my package", "has my order shipped"),
    )
    async def get_order_status(order_id: str) -> ToolResult:
        order = await crm.order(order_id.strip())
        if order is None:
            spoken = " ".join(order_id)
            return ToolResult({"message": f"I couldn't find an order with the number {spoken}. "
                               "Could you check the number and say it again?"})  # fmt: skip
        return ToolResult({
            "message": f"Your order {' '.join(order['id'])} is {order['status']}, "
            f"with delivery expected {order['delivery']} by {order['carrier']}. Anything else I can help with?",
            "status": order["status"],
        })  # fmt: skip

    @registry.tool(
        "Transfer the caller to a human agent.",
        examples=("talk to a person", "an agent please", "speak to a representative"),
    )
    async def transfer_to_agent(context: CallContext, reason: str = "caller request") -> ToolResult:
        customer = await state.verified_customer(context.call_id)
        return ToolResult(
            {"message": "Let me transfer you to an agent. Please hold."},
            action="transfer",
            action_args={"reason": reason, "customer_id": customer or ""},
        )

    @registry.tool(
        "Press keys on the phone keypad (send DTMF tones), e.g. to reach an extension or an option in another "
        "phone system's menu.",
        examples=("press 1", "dial extension 2 3 4", "press the keys 9 1 2"),
    )
    async def press_keys(digits: str) -> ToolResult:
        keys = "".join(ch for ch in digits if ch in "0123456789*#ABCD")
        if not keys:
            raise FlowError("no keypad keys in the request")
        return ToolResult({"message": f"Pressing {' '.join(keys)}.", "keys": keys}, action="send_dtmf",
                          action_args={"digits": keys})  # fmt: skip

    @registry.tool("End the call when the caller is done.", examples=("goodbye", "that's all, bye", "hang up"))
    async def end_call() -> ToolResult:
        return ToolResult({"message": "Thank you for calling Acme Telecom. Goodbye!"}, action="hangup")

    return registry
