// The official openai npm SDK against Veil, configured with nothing but Veil's baseURL.
// Prints what the app got back, as JSON, for tests/e2e/test_npm_sdk.py to check.
import OpenAI from "openai";

const prompt = process.env.VEIL_CHECK_PROMPT;
const client = new OpenAI({ baseURL: process.env.VEIL_BASE_URL, apiKey: "sk-npm-client", maxRetries: 0 });
const messages = [{ role: "user", content: prompt }];

const chat = await client.chat.completions.create({ model: "gpt-test", messages });

const chatDeltas = [];
const chatStream = await client.chat.completions.create({ model: "gpt-test", messages, stream: true });
for await (const chunk of chatStream) {
  for (const choice of chunk.choices) chatDeltas.push(choice.delta.content ?? "");
}

const response = await client.responses.create({ model: "gpt-test", input: prompt, instructions: `Help ${prompt}` });

const responseDeltas = [];
const eventTypes = [];
const responseStream = client.responses.stream({ model: "gpt-test", input: prompt });
for await (const event of responseStream) {
  eventTypes.push(event.type);
  if (event.type === "response.output_text.delta") responseDeltas.push(event.delta);
}
const streamedResponse = await responseStream.finalResponse();

console.log(
  JSON.stringify({
    chat: chat.choices[0].message.content,
    chatStreamed: chatDeltas.join(""),
    chatDeltaCount: chatDeltas.filter((d) => d).length,
    response: response.output_text,
    responseInstructions: response.instructions,
    responseStreamed: responseDeltas.join(""),
    responseFinal: streamedResponse.output_text,
    eventTypes,
  }),
);
