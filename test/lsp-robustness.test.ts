// The language server's answers on text being typed: every prefix of a spec
// and random single-character edits must analyse, hover, complete, format
// and give symbols without throwing (in process: the same modules the server
// runs; test/lsp.test.ts covers the protocol).

import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { analyze } from "../compiler/lsp/analysis.ts";
import { codeActions, fixData } from "../compiler/lsp/code-actions.ts";
import { complete } from "../compiler/lsp/completion.ts";
import { hover } from "../compiler/lsp/hover.ts";
import { toLsp } from "../compiler/lsp/positions.ts";
import { specFiles } from "../compiler/lsp/spec-files.ts";
import { exerciseEditor } from "./helpers/exercise-editor.ts";

const ATHLETE = fs.readFileSync("specs/athlete.fti", "utf8");

function rng(seed: number): () => number {
  return () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
}

/** Runs every provider on `text` at a few offsets; returns how many diagnostics it had. */
function exercise(text: string, offsets: number[]): number {
  const a = exerciseEditor(text, "specs/athlete.fti", "specs", offsets);
  const lsp = a.diagnostics.map((d) => ({ range: toLsp(d.range), message: d.message, data: { code: d.code, ...fixData(d.fix) } }));
  codeActions("file:///x.fti", lsp);
  return a.diagnostics.length;
}

describe("lsp providers on text being typed", () => {
  it("every line-prefix of the athlete spec", () => {
    const lines = ATHLETE.split("\n");
    for (let n = 0; n <= lines.length; n += 3) {
      const text = lines.slice(0, n).join("\n");
      expect(() => exercise(text, [0, Math.floor(text.length / 2), text.length])).not.toThrow();
    }
  });

  it("random single-character edits", () => {
    const random = rng(7);
    const alphabet = "abz_.:,(){}=+-*/<>\" 0123456789\n";
    let withErrors = 0;
    for (let i = 0; i < 150; i++) {
      const at = Math.floor(random() * ATHLETE.length);
      const ch = alphabet[Math.floor(random() * alphabet.length)];
      const text = random() < 0.5 ? ATHLETE.slice(0, at) + ch + ATHLETE.slice(at) : ATHLETE.slice(0, at) + ATHLETE.slice(at + 1);
      let n = 0;
      expect(() => (n = exercise(text, [at, Math.max(0, at - 3), Math.min(text.length, at + 1)]))).not.toThrow();
      if (n > 0) withErrors++;
    }
    expect(withErrors).toBeGreaterThan(50); // the edits really broke the spec most of the time
  });
});

describe("the symbol index", () => {
  it("holds each written name once, in every spec of the repository (rename edits each occurrence: twice would garble it)", () => {
    // `features a.x, a.y by route_id`: one `by` serves both references, and was indexed for each.
    const twice: string[] = [];
    for (const f of specFiles(["specs", "test/fixtures", "bench/specs"])) {
      const a = analyze(fs.readFileSync(f, "utf8"), path.relative(process.cwd(), f), path.dirname(f));
      const starts = a.index.occurrences.map((o) => o.range.start.offset);
      if (new Set(starts).size !== starts.length) twice.push(path.relative(process.cwd(), f));
    }
    expect(twice).toEqual([]);
  });
});

describe("quick fixes carried by diagnostics", () => {
  const SPEC = `entity account {
  key account_id: string
}
source transfers {
  path "data/transfers.csv"
  event_time at
  fields {
    sender: string
    at: timestamp
    amount: float
  }
}
feature_group sent for account(sender) from transfers {
  sent_7d = sum(amount) over 7d
}
view fraud_data from transfers {
  label big = amount > 100
  features sent.*
}
`;

  it("a missing \`by\`: the diagnostic's fix joins the reference on the column the group reads its key from", () => {
    const a = analyze(SPEC, "x.fti", ".");
    const d = a.diagnostics.find((x) => x.code === 4012)!;
    expect(d.fix).toMatchObject({ title: "Join on `by sender`", edits: [{ newText: "sent.* by sender" }] });
    const lsp = { range: toLsp(d.range), message: d.message, data: { code: d.code, ...fixData(d.fix) } };
    const [action] = codeActions("file:///x.fti", [lsp]);
    expect(action.title).toBe("Join on `by sender`");
    const [edit] = action.edit!.changes!["file:///x.fti"];
    const fixed = applyEdit(SPEC, edit);
    expect(fixed).toContain("  features sent.* by sender\n");
    expect(analyze(fixed, "x.fti", ".").diagnostics.filter((x) => x.severity === "error")).toEqual([]);
  });

  it("a hint without a fix is no code action: the hint's words are never parsed", () => {
    const range = { start: { line: 0, character: 0 }, end: { line: 0, character: 3 } };
    const data = { code: 2002, hint: "did you mean `price`?" };
    expect(codeActions("file:///x.fti", [{ range, message: "", data }])).toEqual([]);
  });
});

/** Applies one LSP text edit to a text. */
function applyEdit(text: string, e: { range: { start: { line: number; character: number }; end: { line: number; character: number } }; newText: string }): string {
  const offset = (p: { line: number; character: number }) => text.split("\n").slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  return text.slice(0, offset(e.range.start)) + e.newText + text.slice(offset(e.range.end));
}

describe("reference sources", () => {
  const SPEC = `source routes {
  path "data/routes.csv"
  valid_from since
  fields {
    route_id: string
    since: timestamp
    km: float
  }
}
`;

  it("valid_from names a field: completion offers the fields, references and hover know it", () => {
    const typing = SPEC.replace("valid_from since", "valid_from ");
    const offset = typing.indexOf("valid_from ") + "valid_from ".length;
    expect(complete(analyze(typing, "r.fti", "."), offset).map((i) => i.label)).toEqual(["route_id", "since", "km"]);
    const a = analyze(SPEC, "r.fti", ".");
    const refs = a.index.occurrences.filter((o) => o.key === "field:routes.since");
    expect(refs.map((o) => o.range.start.line)).toEqual([3, 6]);
    const text = hover(a, SPEC.indexOf("routes") + 1)!.contents as { value: string };
    expect(text.value).toContain("reference data valid from `since`");
  });
});

describe("completion of `by`", () => {
  it("offers the columns of the view's spine source after `by` and inside `by (…)`", () => {
    for (const typed of ["features fitness.* by ", "features fitness.* by (", "features fitness.* by (athlete_id, "]) {
      const text = ATHLETE.replace("features fitness.*,", typed + "\n  features");
      const labels = complete(analyze(text, "specs/athlete.fti", "specs"), text.indexOf(typed) + typed.length).map((i) => i.label);
      expect(labels, typed).toEqual(expect.arrayContaining(["athlete_id", "activity_id", "started_at", "distance_km"]));
      expect(labels, typed).not.toContain("ctl_42d");
    }
    const plain = ATHLETE.replace("features fitness.*,", "features fitness.*, (");
    expect(complete(analyze(plain, "specs/athlete.fti", "specs"), plain.indexOf("fitness.*, (") + 12).map((i) => i.label)).not.toContain("athlete_id");
  });
});
