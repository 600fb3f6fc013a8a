"""Every default prompt of plait.agents, named and versioned."""

from __future__ import annotations

from plait.prompts import prompt

REACT = prompt("react", [
    ("system", "You are a helpful assistant that can use tools.\n\nTools:\n{tools}\n\n"
               "Reply with exactly one JSON object: either a tool call with \"tool\", \"args\" and \"thought\", "
               "or an answer with \"answer\" and \"thought\". Tool results come back as Observation lines. "
               "Answer as soon as you have what you need."),
    ("human", "Thanks, bye!"),
    ("ai", '{{"answer": "You are welcome, goodbye!", "thought": "No tool is needed."}}'),
    ("human", "What's the weather in Oslo?"),
    ("ai", '{{"tool": "get_weather", "args": {{"city": "Oslo"}}, "thought": "I should look up the weather."}}'),
    ("human", 'Observation: {{"city": "Oslo", "forecast": "light snow, -2 C"}}'),
    ("ai", '{{"answer": "In Oslo it is -2 C with light snow.", "thought": "I have the forecast."}}'),
])
"""The JSON ReAct protocol for models without native tool calling: instructions and two worked
examples (with an example-only tool, get_weather). The tool-using example comes last: small
models lean on the most recent example."""
REACT_TOOLS = prompt("react_tools", [
    ("system", "Tools:\n{tools}\n\nTo call a tool, reply {{\"tool\": NAME, \"args\": {{...}}}}. To reply to the user, "
               "{{\"answer\": TEXT}}. Tool results come back as Observation lines."),
])
"""The compact protocol the packaged tool-calling adapter was trained on: no worked examples and no
``thought`` field (the adapter learned the format; every token of a long prompt costs time on a CPU)."""
ROUTER_ARGS = prompt("router_args", [
    ("system", "Write the arguments of the tool call that does what the user asks, as one JSON object. Copy "
               "names, ids and numbers exactly as the request gives them; leave out optional arguments the "
               "request does not give."),
    ("human", "Tool:\n- get_weather(city: string, unit?: \"c\" | \"f\"): Current weather for a city.\n"
              "Request: what's it like in Oslo right now?"),
    ("ai", '{{"city": "Oslo"}}'),
    ("human", "Tool:\n{tool}\nRequest: {request}"),
])
"""Argument filling for the tool router (constrained to the tool's schema); the example tool is made up."""
ROUTER_CHAT = prompt("router_chat", [
    ("system", "You are a helpful assistant. When asked, you can use these tools:\n{tools}\nReply in one or two "
               "short sentences."),
])
ROUTER_ANSWER = "Here is what I found: {result}"
"""The router's answer after a tool result: the result quoted as ``key: value`` pairs."""
REACT_RETRY = ("Your reply was not valid: {error}. Reply with one JSON object, either "
               '{{"tool": ..., "args": {{...}}, "thought": ...}} or {{"answer": ..., "thought": ...}}.')
STEP_LIMIT = "I'm sorry, I couldn't finish this within {steps} steps. Please rephrase or ask a colleague."
PARSE_GIVE_UP = "I'm sorry, something went wrong on my side. Please try again."
NOT_APPROVED = "The user did not approve running {tool}; do not run it. Tell the user what you would have done."

SUPPORT_LABELS = {
    "help_centre": ["shipping", "returns", "payments", "account", "products", "warranty"],
    "orders": ["order_status", "cancel_order"],
    "chit_chat": ["greeting", "thanks"],
    "handoff": ["complaint", "human_request"],
}
"""Two-level routing of the support assistant: primary route -> secondary topic."""
SUPPORT_EXAMPLES = [
    ("How much does delivery cost?", "help_centre/shipping"),
    ("Do you ship to Ireland?", "help_centre/shipping"),
    ("How do I send something back?", "help_centre/returns"),
    ("When will I get my refund?", "help_centre/returns"),
    ("Which payment methods do you accept?", "help_centre/payments"),
    ("My card payment keeps failing", "help_centre/payments"),
    ("How do I reset my password?", "help_centre/account"),
    ("Can I delete my account?", "help_centre/account"),
    ("How do I wash the linen towels?", "help_centre/products"),
    ("Will the sage throw be back in stock?", "help_centre/products"),
    ("How long is the warranty on the kettle?", "help_centre/warranty"),
    ("My toaster broke after 8 months, is it covered?", "help_centre/warranty"),
    ("Where is my order A1002?", "orders/order_status"),
    ("Has order A1005 shipped yet?", "orders/order_status"),
    ("What's the tracking number for A1001?", "orders/order_status"),
    ("Please cancel order A1007", "orders/cancel_order"),
    ("I want to cancel my order A1003", "orders/cancel_order"),
    ("Hi there!", "chit_chat/greeting"),
    ("Good morning", "chit_chat/greeting"),
    ("Thanks, that helped!", "chit_chat/thanks"),
    ("Cheers, bye", "chit_chat/thanks"),
    ("This is the worst service I have ever had, I want to complain", "handoff/complaint"),
    ("I've been waiting weeks and nobody answers my emails", "handoff/complaint"),
    ("Can I talk to a real person?", "handoff/human_request"),
    ("Please put me through to an agent", "handoff/human_request"),
]
"""Labelled routing examples (made up); the classifier picks the most similar per message."""

SUPPORT_CHAT = prompt("support_chat", [
    ("system", "You are the friendly customer-service assistant of Larkspur & Co., an online shop. Reply in "
               "one or two short sentences and offer help with orders, delivery, returns or payments."),
    ("human", "Hello!"),
    ("ai", "Hello! How can I help you today, with an order, delivery, a return or a payment?"),
    ("human", "{message}"),
])
SUPPORT_HANDOFF = prompt("support_handoff", [
    ("system", "Summarise the customer's message for a colleague in one sentence: who needs what, and why."),
    ("human", "Customer message: My blender arrived broken and I've emailed twice with no answer.\nSummary:"),
    ("ai", "Customer reports a blender that arrived broken and has had no reply to two emails."),
    ("human", "Customer message: {message}\nSummary:"),
])
HANDOFF_REPLY = "I've passed your message to a colleague, who will get back to you within one working day."
BLOCKED_REPLY = "I'm sorry, I can't help with that. If you need help with an order, just ask."
ORDER_REPLY = ("Order {id} (placed {placed}, £{total:.2f}) is {status}.{tracking} Items: {items}.")
ORDER_TRACKING = " It is with {carrier}, tracking number {tracking}."
ORDER_NEEDS_ID = "Could you give me your order number? It looks like A1001 and is in your confirmation email."
ORDER_NOT_FOUND = "I can't find an order {id}. Order numbers look like A1001 and are in your confirmation email; could you check it?"
CANCEL_CONFIRM = ("Order {id} ({items}, £{total:.2f}) hasn't shipped yet, so it can still be cancelled. "
                  "Shall I cancel it? Please answer yes or no.")
CANCEL_REFUSED = {
    "shipped": "Order {id} has already shipped with {carrier} (tracking number {tracking}), so it can't be cancelled "
               "now. Once it arrives you can return it within 30 days of delivery for a refund.",
    "delivered": "Order {id} was delivered, so it can't be cancelled. You can return it within 30 days of delivery "
                 "for a refund.",
    "returned": "Order {id} has already been returned, so it can't be cancelled; its refund follows the return.",
    "cancelled": "Order {id} is already cancelled, so it can't be cancelled again; nothing more to do.",
}
"""Why an order that is not ``processing`` can't be cancelled, by its status."""
CANCEL_DONE = "Done: order {id} is cancelled. You'll get a confirmation email, and nothing will be charged for it."
CANCEL_KEPT = "OK, I haven't cancelled anything: order {id} stays as it is. Is there anything else I can help with?"
CANCEL_NOT_APPROVED = ("I'm sorry, I couldn't cancel order {id} myself; it is still {status}. A colleague will get "
                       "back to you about it within one working day.")
CANCEL_FAILED = "I'm sorry, order {id} could not be cancelled: {reason} A colleague will get back to you."
CANCEL_APPROVAL = "Approve cancelling order {id} ({items}, £{total:.2f}) for the customer?"
"""The question a person is asked (LangGraph interrupt) before ``cancel_order`` runs."""
CONFIRM_AGAIN = "Sorry, I didn't catch that. Shall I cancel order {id}? Please answer yes or no."
CLARIFY_REPLY = ("Sorry, I'm not sure I understood. Is it about one of your orders (where it is, or cancelling it), "
                 "or a question about delivery, returns, payments or your account?")
CHAT_TEMPLATES = {
    "greeting": "Hello! I'm the Larkspur & Co. assistant. I can help with your orders, delivery, returns, payments "
                "and your account. What can I do for you?",
    "thanks": "You're welcome! If anything else comes up with an order, delivery, a return or a payment, just ask. "
              "Have a lovely day.",
}
"""Chit-chat replies per topic: always polite and on-topic (measured against generation in benchmarks/support.py)."""
CHAT_INTENTS = {
    "greeting": ["Hello! How can I help you today?", "Hi there, what can I do for you?",
                 "Good morning! How can I help with your order?", "I'm the shop's virtual assistant; how can I help?"],
    "thanks": ["You're welcome!", "Glad I could help. Have a nice day!", "Goodbye, take care!",
               "No problem at all; just ask if you need anything else."],
}
"""What a generated chit-chat reply may say, per topic: ``chat="generate"`` keeps a reply only when it is
close to one of these (or to the topic's template)."""
HANDOFF_SUMMARY = "{topic}. Latest message: \"{message}\".{orders}{earlier}"
"""The colleague's summary: built from the conversation itself, so nothing in it is invented."""
FALLBACK_REPLY = "I'm not sure about that one, so I've passed your question to a colleague who will reply soon."
