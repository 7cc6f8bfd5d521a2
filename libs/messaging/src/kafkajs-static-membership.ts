// Static group membership (KIP-345, the Java consumer's `group.instance.id`) for KafkaJS 2.2.4's consumer,
// changed in place into its ConsumerGroup class by kafkajs-fix.ts. KafkaJS implements the requests that carry
// a group instance id (JoinGroup v5, SyncGroup v3, Heartbeat v3) but its Broker never passes one, and its
// ConsumerGroup always sends LeaveGroup when it stops. With an instance id a member keeps its place across a
// restart: the stopped process does not leave, and the new one joins with the same instance id while the group
// is stable, replaces the old member id and gets its old assignment back without a rebalance (Kafka 4.1, classic
// group protocol; static-membership.int.test.ts). What the broker does then, seen on Kafka 4.1:
// - the JoinGroup v5 answer names the replaced member id as leader and no members, even when the instance was
//   the leader: KafkaJS takes itself for a follower and runs no assigner; the broker made the new member id the
//   leader, so it gets the members and assigns at the next rebalance;
// - changed join metadata (other topics, other user data) does not rebalance: only a change of the group's
//   selected assigner does. A restart that changes a member's subscription or what it advertises is seen by
//   the group at the next rebalance only;
// - a member that does not come back within its session timeout is removed and the group rebalances.
//
// KafkaJS does not pass unknown consumer options to its ConsumerGroup, so the instance id comes from a
// registry keyed by group id (setGroupInstanceId): a consumer takes the group's instance id when its first
// ConsumerGroup is made, i.e. when `consumer.run()` starts it, and keeps it for the ConsumerGroups KafkaJS makes
// when it restarts a crashed consumer. Register it before `run()`. One process runs one member of a group in
// the services; two consumers of one group in one process get different ids if each is registered right
// before its own `run()`.
//
// What changes for a ConsumerGroup with an instance id:
// - its coordinator's joinGroup, syncGroup and heartbeat send the instance id (and throw, not retried, when the
//   broker does not offer JoinGroup v5 / SyncGroup v3 / Heartbeat v3: a silently dynamic member that never
//   leaves would be worse than none);
// - leave() sends nothing: its partitions stay with it until it rejoins or its session times out.
// A replaced (fenced) process gets FENCED_INSTANCE_ID on its next heartbeat or sync: KafkaJS does not retry
// that error, its consumer crashes and is not restarted (the Java consumer's behaviour too).
// Offset commits stay OffsetCommit v5, which has no instance id: the broker checks the member id alone, which
// rejects a replaced process's commits (UNKNOWN_MEMBER_ID) all the same.

type Args = Record<string, unknown>;

interface VersionedRequest {
  request: { apiVersion: number; apiName: string };
}

/** The parts of KafkaJS's Broker (src/broker/index.js) used here. */
interface BrokerInstance {
  lookupRequest(apiKey: number, definitions: unknown): (args: Args) => VersionedRequest;
  joinGroup(args: Args): Promise<unknown>;
  syncGroup(args: Args): Promise<unknown>;
  heartbeat(args: Args): Promise<unknown>;
  leaveGroup(args: Args): Promise<unknown>;
}

/** The parts of KafkaJS's ConsumerGroup (src/consumer/consumerGroup.js) used here. */
export interface ConsumerGroupInstance {
  groupId: string;
  memberId: string | null;
  coordinator: BrokerInstance | null;
  leave(): Promise<void>;
}

export interface ConsumerGroupClass {
  prototype: ConsumerGroupInstance;
}

// Shared by every copy of this module in the process (like kafkajs-fix.ts's mark), so that the registry the
// services fill is the one the changed class reads.
const REGISTRY = Symbol.for('movie-stream.kafkajs-group-instance-ids');
const registry: Map<string, string> =
  ((globalThis as Record<symbol, unknown>)[REGISTRY] as Map<string, string> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[REGISTRY] = new Map<string, string>());

/**
 * Makes the consumers of `groupId` started (`run()`) from now on static members with this instance id, or
 * dynamic ones again with undefined. The id must be unique in the group and the same across the restarts of
 * one instance (e.g. a pod's ordinal); a second live process with the same id takes the membership over and
 * the first one fails with FENCED_INSTANCE_ID.
 */
export function setGroupInstanceId(groupId: string, groupInstanceId: string | undefined): void {
  if (groupInstanceId === undefined) {
    registry.delete(groupId);
    return;
  }
  if (groupInstanceId === '') throw new Error(`the group instance id of ${groupId} must not be empty`);
  registry.set(groupId, groupInstanceId);
}

/** The instance id registered for `groupId`, if any. */
export function groupInstanceIdOf(groupId: string): string | undefined {
  return registry.get(groupId);
}

/** What the changed class needs of KafkaJS, loaded when kafkajs-fix.ts makes the change (not on import). */
interface Kafkajs {
  apiKeys: Record<string, number>;
  requests: Record<string, unknown>;
  NonRetriable: new (m: string) => Error;
  /** The Broker's private request sender (`PRIVATE.SEND_REQUEST`: it also drops a connection found closed). */
  send: symbol;
}

function loadKafkajs(): Kafkajs {
  // Literal paths, so that a bundler bundles KafkaJS's own modules.
  const Broker = require('kafkajs/src/broker') as { prototype: object };
  const send = Object.getOwnPropertySymbols(Broker.prototype).find((s) => s.description === 'private:Broker:sendRequest');
  if (!send) throw new Error('kafkajs/src/broker/index.js has no private:Broker:sendRequest method');
  return {
    apiKeys: require('kafkajs/src/protocol/requests/apiKeys') as Record<string, number>,
    requests: (require('kafkajs/src/protocol/requests') as { requests: Record<string, unknown> }).requests,
    NonRetriable: (require('kafkajs/src/errors') as { KafkaJSNonRetriableError: new (m: string) => Error }).KafkaJSNonRetriableError,
    send,
  };
}

/** The request of `apiName` for `args`, or a non-retriable error if the broker's version has no instance id. */
function staticRequest(k: Kafkajs, broker: BrokerInstance, apiName: string, minVersion: number, args: Args): VersionedRequest {
  const request = broker.lookupRequest(k.apiKeys[apiName], k.requests[apiName])(args);
  if (request.request.apiVersion < minVersion) {
    throw new k.NonRetriable(
      `static group membership (group instance id ${String(args.groupInstanceId)}) needs ${apiName} v${minVersion}, ` +
        `the broker's highest version KafkaJS implements is v${request.request.apiVersion}`,
    );
  }
  return request;
}

/** The coordinator as the ConsumerGroup sees it: its group requests carry the instance id. */
function staticCoordinator(k: Kafkajs, broker: BrokerInstance, groupInstanceId: string): BrokerInstance {
  const sendRequest = (r: VersionedRequest) => (broker as unknown as Record<symbol, (r: VersionedRequest) => Promise<unknown>>)[k.send](r);
  const overrides: Partial<BrokerInstance> = {
    // Broker.joinGroup's own code with the instance id (a static member is never asked for a member id first,
    // but the retry stays for a broker that does).
    async joinGroup({ memberId = '', protocolType = 'consumer', ...rest }: Args) {
      const join = (id: unknown) =>
        sendRequest(staticRequest(k, broker, 'JoinGroup', 5, { ...rest, memberId: id, protocolType, groupInstanceId }));
      try {
        return await join(memberId);
      } catch (e) {
        if ((e as Error).name === 'KafkaJSMemberIdRequired') return join((e as { memberId: string }).memberId);
        throw e;
      }
    },
    syncGroup: (args: Args) => sendRequest(staticRequest(k, broker, 'SyncGroup', 3, { ...args, groupInstanceId })),
    heartbeat: (args: Args) => sendRequest(staticRequest(k, broker, 'Heartbeat', 3, { ...args, groupInstanceId })),
  };
  return new Proxy(broker, {
    get(target, p) {
      if (typeof p === 'string' && Object.hasOwn(overrides, p)) return overrides[p as keyof BrokerInstance];
      const value: unknown = Reflect.get(target, p);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const INSTANCE_ID = Symbol('groupInstanceId');
const COORDINATOR = Symbol('coordinator');
type Slots = ConsumerGroupInstance & { cluster: object; [INSTANCE_ID]?: string | null; [COORDINATOR]?: BrokerInstance | null };
/**
 * The instance id of each consumer (keyed by its KafkaJS cluster, one per `kafka.consumer()`), read from the
 * registry when its first ConsumerGroup is made: a ConsumerGroup that KafkaJS makes anew after a crash keeps it,
 * even if the registry names another id for the group by then (two members of one group in one process).
 */
const idOfConsumer = new WeakMap<object, string | null>();

/** KafkaJS's ConsumerGroup with static membership for the groups that have an instance id (the class changed in place). */
export function withStaticMembership<T extends ConsumerGroupClass>(ConsumerGroup: T): T {
  const proto = ConsumerGroup.prototype as Slots;
  const k = loadKafkajs();
  const originalLeave = proto.leave;
  // The constructor's `this.coordinator = null` (after `this.cluster` and `this.groupId`) is the first set: the
  // consumer's instance id is read then. Every later set (the coordinator found at each join) is wrapped.
  Object.defineProperty(proto, 'coordinator', {
    configurable: true,
    get(this: Slots) {
      return this[COORDINATOR] ?? null;
    },
    set(this: Slots, broker: BrokerInstance | null) {
      if (!Object.prototype.hasOwnProperty.call(this, INSTANCE_ID)) {
        let id = idOfConsumer.get(this.cluster);
        if (id === undefined) idOfConsumer.set(this.cluster, (id = registry.get(this.groupId) ?? null));
        this[INSTANCE_ID] = id;
      }
      const id = this[INSTANCE_ID];
      this[COORDINATOR] = broker && id ? staticCoordinator(k, broker, id) : broker;
    },
  });
  proto.leave = async function leave(this: Slots) {
    if (!this[INSTANCE_ID]) return originalLeave.call(this);
    // A static member does not leave: its partitions wait for it (or for its session timeout).
    this.memberId = null;
  };
  return ConsumerGroup;
}
