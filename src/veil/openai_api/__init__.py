"""Where text lives in the OpenAI API's JSON and SSE shapes."""
