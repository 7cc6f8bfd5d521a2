import { setGroupInstanceId, withStaticMembership } from './kafkajs-static-membership';

/** The parts of KafkaJS's ConsumerGroup the change touches, in the constructor's order (cluster, groupId, coordinator). */
class FakeConsumerGroup {
  memberId: string | null = 'm-1';
  declare coordinator: unknown; // not a field of its own: the accessor the change puts on the prototype
  left = 0;
  constructor(
    readonly cluster: object,
    readonly groupId: string,
  ) {
    this.coordinator = null;
  }
  async leave(): Promise<void> {
    this.left++;
  }
}
withStaticMembership(FakeConsumerGroup as never);

describe('withStaticMembership', () => {
  it('a consumer keeps the instance id it started with when KafkaJS makes its ConsumerGroup anew (a restart), whatever the registry says by then', async () => {
    const consumerA = {};
    setGroupInstanceId('g', 'member-a');
    const first = new FakeConsumerGroup(consumerA, 'g');
    // Another member of the group in the same process registers its own id, then A's consumer restarts.
    setGroupInstanceId('g', undefined);
    const restarted = new FakeConsumerGroup(consumerA, 'g');
    await first.leave();
    await restarted.leave();
    // Static: neither sends a LeaveGroup (the original leave() is not called).
    expect([first.left, restarted.left]).toEqual([0, 0]);
    // A consumer made now, with nothing registered, is a dynamic member and leaves.
    const dynamic = new FakeConsumerGroup({}, 'g');
    await dynamic.leave();
    expect(dynamic.left).toBe(1);
  });
});
