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
REACT_RETRY = ("Your reply was not valid: {error}. Reply with one JSON object, either "
               '{{"tool": ..., "args": {{...}}, "thought": ...}} or {{"answer": ..., "thought": ...}}.')
STEP_LIMIT = "I'm sorry, I couldn't finish this within {steps} steps. Please rephrase or ask a colleague."
PARSE_GIVE_UP = "I'm sorry, something went wrong on my side. Please try again."
NOT_APPROVED = "The user did not approve running {tool}; do not run it. Tell the user what you would have done."
