// A shared online store (Redis, redis-store.ts) as the service reads it: per
// request, the rows its instances name (never held in memory); per reload,
// what the store holds per group and whether it is behind the store file's
// online table (`fti materialize --online-store` copies it there).
// docs/online-store.md.

import type { GroupPlan, Scalar, SpecBundle } from "../api.ts";
import { apiError } from "./api-error.ts";
import { lookup, type JoinLookup } from "./cache.ts";
import { onlineTable, type GroupFeatures, type readOnlineState } from "./materialize.ts";
import { plain } from "./predict-request.ts";
import type { JoinSpec, RedisOnlineStore, RemoteGroupInfo } from "./redis-store.ts";
import type { ServedModel } from "./served-model.ts";
import type { Logger, ReloadReport } from "./service.ts";
import type { FeatureValue, LocalResponse } from "./types.ts";

/** What the shared store holds of a group, as of the last reload. */
type SharedGroupInfo = RemoteGroupInfo & { group: string; missing: boolean; behind: boolean; loadedAt: Date };

export class SharedOnlineRows {
  /** Per group: what the shared store holds (refreshed at each reload), and whether it is behind the store file's online table. */
  private info = new Map<string, SharedGroupInfo>();

  constructor(
    readonly store: RedisOnlineStore,
    private readonly bundle: SpecBundle,
    /** The groups the served views and agents read. */
    private readonly neededGroups: readonly GroupFeatures[],
    private readonly logger: Logger,
  ) {}

  /** At each reload: what the store holds per group (rows are read per request), and whether it is behind the store file's online table. */
  async loadInfo(state: Awaited<ReturnType<typeof readOnlineState>>, report: ReloadReport): Promise<void> {
    const next = new Map(this.info);
    for (const g of this.neededGroups) {
      const table = onlineTable(g.plan);
      const info = await this.store.groupInfo(table);
      const local = state.find((s) => s.online_table === table);
      const localChanged = local?.changed_at ? local.changed_at.getTime() : null;
      const behind = local !== undefined && info.changedAt !== localChanged;
      const prev = this.info.get(g.plan.name);
      next.set(g.plan.name, { ...info, group: g.plan.name, missing: info.changedAt === null && info.entities === 0, behind, loadedAt: new Date() });
      if (!prev || prev.changedAt !== info.changedAt || prev.behind !== behind) {
        report.groups.push({ group: g.plan.name, table: `${this.store.display} ${table}`, entities: info.entities, missing: info.changedAt === null && info.entities === 0 });
        if (behind) this.logger.warn(`the online store ${this.store.display} is behind ${table} of the store file: run \`fti materialize ${this.bundle.file} --online-store …\` to copy it`);
      }
    }
    this.info = next;
  }

  /** The served view's joins, fetched for these instances (the rows they name); a 503 when the store cannot be read. */
  async joins(m: ServedModel, instances: Array<Record<string, unknown>>): Promise<JoinLookup[] | LocalResponse> {
    const requests = instances.map((inst) => Object.fromEntries(m.fields.map((f) => [f.name, plain(inst[f.name])])) as Record<string, Scalar>);
    try {
      return await this.store.joins(m.joins.map((j) => ({ ...j.join, features: j.features })), this.groups(), requests);
    } catch (e) {
      return unavailable(e);
    }
  }

  /** An entity's features of some groups (agents, MCP); unavailable → every feature not_found. */
  async entityFeatures(groups: string[], keys: Record<string, Scalar>, nowMs: number, features: ReadonlyArray<{ group: string; name: string }>): Promise<Record<string, FeatureValue>> {
    const specs: JoinSpec[] = [];
    for (const name of groups) {
      const plan = this.bundle.groups.find((g) => g.name === name);
      if (!plan) continue;
      const on = plan.keys.map((k) => ({ key: k.name, column: k.name }));
      specs.push({ id: name, group: name, on, features: features.filter((f) => f.group === name).map((f) => ({ name: f.name, column: f.name })) });
    }
    try {
      const l = lookup(await this.store.joins(specs, this.groups(), [keys]), keys, nowMs, null);
      return Object.fromEntries(features.map((f) => [f.name, l.features[f.name] ?? { value: null, status: "not_found" as const }]));
    } catch (e) {
      this.logger.error((e as Error).message);
      return Object.fromEntries(features.map((f) => [f.name, { value: null, status: "not_found" as const }]));
    }
  }

  /** A few of a group's entity keys, as of the last reload (the prediction page's suggestions). */
  samples(group: string): string[] | undefined {
    return this.info.get(group)?.samples;
  }

  /** The online groups as `/healthz` lists them. */
  health(): Array<{ group: string; table: string; entities: number; missing: boolean; loaded_at: string; store: string; behind?: boolean }> {
    return [...this.info.values()].map((g) => ({
      group: g.group,
      table: g.table,
      entities: g.entities,
      missing: g.missing,
      loaded_at: g.loadedAt.toISOString(),
      store: this.store.display,
      ...(g.behind ? { behind: true } : {}),
    }));
  }

  /** `fti_online_entities`' values: the entities the store holds per online table. */
  entityGauges(): Array<{ labels: { table: string }; value: number }> {
    return [...this.info.values()].map((g) => ({ labels: { table: g.table }, value: g.entities }));
  }

  /** The groups the served views and agents read: plan and features, by name. */
  private groups(): Map<string, { plan: GroupPlan; features: string[] }> {
    return new Map(this.neededGroups.map((g) => [g.plan.name, { plan: g.plan, features: g.features.map((f) => f.name) }]));
  }
}

/** A 503 for a shared store that cannot be read (anything else is a bug, thrown on). */
function unavailable(e: unknown): LocalResponse<never> {
  if ((e as Error)?.name !== "OnlineStoreUnavailable") throw e;
  return apiError(503, "online_store_unavailable", (e as Error).message);
}
