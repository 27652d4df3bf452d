import { type Action, type BoundName, type ExploreBounds, World, type WorldSetup, crashPoints, describeAction, enabledActions, noCuts } from "@concord/explore";
import { PathError, type StateView, decodePath, encodePath, stateView } from "./view.ts";

/** ExplorerModel is what the Explorer walks: one exploration's setup and bounds, and the counterexample its search found, if any. */
export interface ExplorerModel {
  readonly algo: string;
  readonly setup: WorldSetup;
  readonly bounds: ExploreBounds;
  readonly counterexample?: { readonly property: string; readonly message: string; readonly actions: readonly Action[] } | undefined;
}

/** ActionLink is one enabled action on the page: what it does and the path of the state it leads to. */
export interface ActionLink {
  readonly description: string;
  readonly kind: Action["kind"];
  /** crash is true for an action's variant that crashes its node inside it. */
  readonly crash: boolean;
  readonly path: string;
  /** violation names the property the next state violates, so the page can mark the link. */
  readonly violation: string | null;
}

/** StateResponse is the API's answer for one path: the state, how the path got there, and where one can go next. */
export interface StateResponse {
  readonly algo: string;
  readonly nodes: number;
  readonly bounds: Readonly<Record<string, number | null>>;
  readonly path: string;
  /** steps are the path's actions, each with the path of the state after it, for the page's breadcrumb. */
  readonly steps: readonly { readonly description: string; readonly path: string }[];
  readonly state: StateView;
  readonly actions: readonly ActionLink[];
  /** ineffective counts the enabled timeouts that would change nothing within the tick bound (the search skips them too). */
  readonly ineffective: number;
  /** cutBy counts the actions a bound refused in this state, by bound. */
  readonly cutBy: Readonly<Partial<Record<BoundName, number>>>;
  /** beyond names the bounds this state is already past (the search would not expand it), so the page can say so. */
  readonly beyond: readonly BoundName[];
  readonly counterexample: {
    readonly property: string;
    readonly message: string;
    readonly steps: number;
    /** at is how many of its steps the path has taken, or null when the path has left the counterexample. */
    readonly at: number | null;
    readonly start: string;
    readonly next: { readonly description: string; readonly path: string } | null;
    readonly end: string;
  } | null;
}

/** ApiResult is an HTTP answer: a status and a JSON body. */
export interface ApiResult {
  readonly status: number;
  readonly body: unknown;
}

/**
 * explorerState answers `GET /api/state?path=<token>`: it replays the path's
 * actions from the initial state, refusing any action the model would not
 * enable there (so a hand-edited URL cannot reach a state the checker never
 * could), and lists the state and its enabled actions. A path that does not
 * decode or replay is a 400 with a message naming the step.
 */
export function explorerState(model: ExplorerModel, token: string): ApiResult {
  let actions: Action[];
  let worlds: World[];
  try {
    actions = decodePath(token);
    worlds = replayChecked(model, actions);
  } catch (error) {
    if (error instanceof PathError) return { status: 400, body: { error: error.message } };
    throw error;
  }
  return { status: 200, body: respond(model, actions, worlds) };
}

function respond(model: ExplorerModel, actions: readonly Action[], worlds: readonly World[]): StateResponse {
  const world = worlds[worlds.length - 1] as World;
  const cut = noCuts();
  const links: ActionLink[] = [];
  let ineffective = 0;
  for (const action of enabledActions(world, model.bounds, cut)) {
    const next = world.fork();
    const outcome = next.apply(action);
    if (!outcome.effect) {
      ineffective++;
      continue;
    }
    links.push(link(world, actions, action, next));
    if (crashable(action) && outcome.durableReadies.length > 0) {
      if (world.spent().crashes >= model.bounds.crashesMax) {
        if (model.bounds.crashesMax > 0) cut.crashesMax++;
        continue;
      }
      for (const point of crashPoints(outcome.durableReadies)) {
        const variant = { ...action, crash: point } as Action;
        const crashed = world.fork();
        crashed.apply(variant);
        links.push(link(world, actions, variant, crashed));
      }
    }
  }
  const beyond: BoundName[] = [];
  if (world.depth >= model.bounds.depthMax) beyond.push("depthMax");
  if (world.inFlight().length > model.bounds.inflightMessagesMax) beyond.push("inflightMessagesMax");
  return {
    algo: model.algo,
    nodes: model.setup.nodes,
    bounds: Object.fromEntries(Object.entries(model.bounds).map(([name, value]) => [name, Number.isFinite(value) ? value : null])),
    path: encodePath(actions),
    steps: actions.map((action, index) => ({ description: describeAction(worlds[index] as World, action), path: encodePath(actions.slice(0, index + 1)) })),
    state: stateView(world, model.algo),
    actions: links,
    ineffective,
    cutBy: Object.fromEntries(Object.entries(cut).filter(([, count]) => count > 0)),
    beyond,
    counterexample: counterexampleView(model, actions, world),
  };
}

function link(world: World, path: readonly Action[], action: Action, next: World): ActionLink {
  return {
    description: describeAction(world, action),
    kind: action.kind,
    crash: "crash" in action && action.crash !== undefined,
    path: encodePath([...path, action]),
    violation: next.violation?.property ?? null,
  };
}

function counterexampleView(model: ExplorerModel, actions: readonly Action[], world: World): StateResponse["counterexample"] {
  const found = model.counterexample;
  if (found === undefined) return null;
  const onIt = actions.length <= found.actions.length && actions.every((action, index) => sameAction(action, found.actions[index]));
  const nextAction = onIt ? found.actions[actions.length] : undefined;
  return {
    property: found.property,
    message: found.message,
    steps: found.actions.length,
    at: onIt ? actions.length : null,
    start: "",
    next: nextAction === undefined ? null : { description: describeAction(world, nextAction), path: encodePath([...actions, nextAction]) },
    end: encodePath(found.actions),
  };
}

/**
 * replayChecked replays `actions` as `replay` does (fork, apply), after
 * checking that each is enabled in the state it runs in: among
 * `enabledActions` within the bounds, with an effect, and a crash point that
 * the action's writes offer and the crash bound allows. It returns every world
 * on the way, the initial one first.
 */
export function replayChecked(model: ExplorerModel, actions: readonly Action[]): World[] {
  let world = World.initial(model.setup);
  const worlds = [world];
  actions.forEach((action, index) => {
    const step = `step ${index + 1} (${JSON.stringify(action).slice(0, 120)})`;
    const { crash: point, ...base } = action as Action & { crash?: unknown };
    const plain = base as Action;
    const cut = noCuts();
    if (!enabledActions(world, model.bounds, cut).some((enabled) => sameAction(enabled, plain))) {
      throw new PathError(`path: ${step} is not enabled in the state before it (no such message in flight, a node in the wrong state, or a bound spent)`);
    }
    let next = world.fork();
    const outcome = next.apply(plain);
    if (!outcome.effect) throw new PathError(`path: ${step} has no effect in the state before it`);
    if (point !== undefined) {
      if (!crashable(plain)) throw new PathError(`path: ${step}: only a delivery, a timeout or a restart can crash inside`);
      if (world.spent().crashes >= model.bounds.crashesMax) throw new PathError(`path: ${step}: the crash bound (${model.bounds.crashesMax}) is spent`);
      if (!crashPoints(outcome.durableReadies).some((offered) => JSON.stringify(offered) === JSON.stringify(point))) {
        throw new PathError(`path: ${step}: the action writes ${outcome.durableReadies.length} time(s); it offers no such crash point`);
      }
      next = world.fork();
      next.apply(action);
    }
    worlds.push(next);
    world = next;
  });
  return worlds;
}

function crashable(action: Action): boolean {
  return action.kind === "deliver" || action.kind === "timeout" || action.kind === "restart";
}

/** sameAction compares two actions field by field (their JSON may list the fields in another order). */
function sameAction(a: Action, b: Action | undefined): boolean {
  if (b === undefined) return false;
  const canonical = (action: Action): string => JSON.stringify(Object.entries(action).sort(([x], [y]) => (x < y ? -1 : 1)));
  return canonical(a) === canonical(b);
}
