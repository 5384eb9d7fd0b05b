"""The dialogue: the LangChain chain, the intent router and tools, cart/answer actions, sessions, the Assistant."""
