// An agent's tool whose model joins another entity's group by a request column (a film's distributor
// beside the conversation's director) tells the LLM to pass that key and what it is for: the tool's
// description said only that the conversation's entity's features are looked up by the service, and
// the newuser lane's critic agent over vega-datasets' movies got a 422 for `distributor: "Paramount"`
// (the stored name is "Paramount Pictures") with nothing saying the value is a lookup key.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentPlan } from "../runtime/agents/plans.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";

const SPEC = `
source films {
  path "films.csv"
  event_time released
  unique film_id
  fields { film_id: string  released: timestamp  director: string  distributor: string  budget: float  genre: string }
}
entity director { key director: string }
entity distributor { key distributor: string }
feature_group director_films for director from films { films_1y = count() over 365d }
feature_group distributor_films for distributor from films { releases_30d = count() over 30d }
view genre_data for director from films {
  label kind = genre
  features director_films.*
  features distributor_films.* by distributor
  features films.budget
}
view own_data for director from films {
  label kind = genre
  features director_films.*
}
model genre { view genre_data  task multiclass_classification  algorithm gbdt }
model own { view own_data  task multiclass_classification  algorithm gbdt }
serve genre { online }
serve own { online }
agent critic for director {
  llm "m"
  context director_films.*
  tool genre, own
}
`;

let spec: TempSpec;
let tools: AgentPlan["tools"];
beforeAll(async () => {
  spec = await compileTempSpec({ "spec.fti": SPEC, "films.csv": "film_id,released,director,distributor,budget,genre\n" });
  tools = (spec.bundle.agents as AgentPlan[])[0].tools;
}, 120_000);
afterAll(() => spec?.cleanup());

describe("an agent tool over another entity's group", () => {
  it("names the key the LLM passes and the group looked up by it; a tool over the conversation's entity alone says nothing more", () => {
    const [genre, own] = tools;
    expect(Object.keys((genre.parameters as { properties: object }).properties)).toEqual(["distributor", "budget"]);
    expect(genre.description).toBe(
      "Predicts `kind` (multiclass classification) with model genre for the conversation's director; the director's features are looked up by the service. " +
        "Pass `distributor` (the distributor_films features are looked up by its exact value).",
    );
    expect(own.description).toBe("Predicts `kind` (multiclass classification) with model own for the conversation's director; the director's features are looked up by the service.");
  });
});
