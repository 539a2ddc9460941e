/**
 * MODEL of the Azure Functions host delivering one Service Bus message to the consumer (nothing of
 * Azure runs here), as the deployed app runs it (components/azure/consumer-package.ts host.json,
 * runtime/functions-host.ts):
 * - The trigger binding hands over body, messageId and deliveryCount. It does not hand over
 *   `lockedUntilUtc`, so the consumer assumes the lock began when the message reached it
 *   (runtime/consumer/lock.ts).
 * - While the function runs, the host renews the message lock, for at most
 *   maxAutoLockRenewalDuration from the moment it received the message (host.json; the deployed
 *   value is 300 s). Microsoft: "Gets or sets the maximum duration within which the lock will be
 *   renewed automatically … The default value is 5 minutes." (Azure SDK for .NET,
 *   ServiceBusProcessorOptions.MaxAutoLockRenewalDuration, learn.microsoft.com/dotnet/api/
 *   azure.messaging.servicebus.servicebusprocessoroptions.maxautolockrenewalduration; the Functions
 *   Service Bus extension passes host.json's maxAutoLockRenewalDuration to that processor,
 *   learn.microsoft.com/azure/azure-functions/functions-bindings-service-bus#hostjson-settings).
 * - ASSUMPTION (when, within a lock, a renewal is sent is not documented): each renewal is sent
 *   min(LockDuration / 2, 10 s) before the lock ends.
 * - Renewal stops when the function returns or its instance dies (a crash), and after a renewal
 *   that fails (the lock was already lost).
 */
import type { Clock } from "./clock";
import type { ReceivedMessage, ServiceBusQueueModel } from "./service-bus-model";
import type { ConsumerMessage } from "../../runtime/consumer";

export interface FunctionsHostModelOptions {
  clock: Clock;
  queue: ServiceBusQueueModel;
  /** host.json maxAutoLockRenewalDuration, in ms. */
  maxAutoLockRenewalMs: number;
}

export class FunctionsHostModel {
  constructor(private readonly o: FunctionsHostModelOptions) {}

  /** What the binding hands the function: no lock end. */
  bindingMessage(received: ReceivedMessage): ConsumerMessage {
    const m = received.message;
    return { body: m.body, messageId: m.messageId, deliveryCount: m.deliveryCount };
  }

  /**
   * Runs `invocation` with the host renewing the lock until it settles (returns, throws, or the
   * instance crashes: `ended` settles).
   */
  async run(received: ReceivedMessage, invocation: Promise<unknown>): Promise<void> {
    const { clock, queue, maxAutoLockRenewalMs } = this.o;
    const renewUntil = clock.now() + maxAutoLockRenewalMs;
    let ended = false;
    const renewals = (async () => {
      let lockedUntil = received.message.lockedUntil;
      for (;;) {
        const buffer = Math.min(queue.lockDurationMs / 2, 10_000);
        const renewAt = lockedUntil - buffer;
        if (renewAt > renewUntil) return;
        await Promise.race([clock.sleep(Math.max(0, renewAt - clock.now())), invocation.then(() => undefined, () => undefined)]);
        if (ended) return;
        try {
          lockedUntil = queue.renewLock(received);
        } catch {
          return;
        }
      }
    })();
    try {
      await invocation;
    } finally {
      ended = true;
      await renewals;
    }
  }
}
