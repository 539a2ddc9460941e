import { strict as assert } from "assert";
import { connectionStatePattern, expiryAlarmTime, OVERDUE_PAGE_DELAY_MINUTES } from "../../components/aws/credential-alarms";
import { all, one, preview, PreviewResult } from "../support/offline-preview";

const policy = (text: string) => JSON.parse(text) as { Statement: any[] };
const TEAM_TOPIC = "arn:aws:sns:eu-west-1:123456789012:team-pager";
const TEAM_GROUP = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/ops/providers/Microsoft.Insights/actionGroups/pager";

describe("credential alarms and alarm receivers (components/aws/credential-alarms.ts)", function () {
    this.timeout(240_000);

    describe("expiryAlarmTime", () => {
        it("fires N days before the end date, as a UTC at() expression without zone or millis", () => {
            const t = expiryAlarmTime("2026-05-30T00:00:00Z", 21, "2026-01-01T00:00:00Z");
            assert.deepEqual(t, { expression: "at(2026-05-09T00:00:00)", firesAt: "2026-05-09T00:00:00Z", immediate: false });
            assert.equal(expiryAlarmTime("2026-05-30T10:20:30.999+02:00", 1, "2026-01-01T00:00:00Z").expression, "at(2026-05-29T08:20:30)");
        });

        it("an end date already inside the window fires a few minutes after the deployment, not never", () => {
            const t = expiryAlarmTime("2026-01-10T00:00:00Z", 21, "2026-01-01T12:00:00Z");
            assert.equal(t.immediate, true);
            assert.equal(t.firesAt, `2026-01-01T12:0${OVERDUE_PAGE_DELAY_MINUTES}:00Z`);
            assert.equal(t.expression, `at(2026-01-01T12:0${OVERDUE_PAGE_DELAY_MINUTES}:00)`);
            // exactly at the boundary counts as overdue: at() must lie ahead of the deployment
            assert.equal(expiryAlarmTime("2026-01-22T12:00:00Z", 21, "2026-01-01T12:00:00Z").immediate, true);
            assert.equal(expiryAlarmTime("2026-01-22T12:00:01Z", 21, "2026-01-01T12:00:00Z").immediate, false);
        });

        it("refuses a date it cannot read, naming it", () => {
            assert.throws(() => expiryAlarmTime("soon", 21, "2026-01-01T00:00:00Z"), /secret end date "soon" is not an RFC 3339/);
        });

        it("connection pattern: EventBridge's own connection events on the default bus", () => {
            assert.deepEqual(JSON.parse(connectionStatePattern()), { source: ["aws.events"], "detail-type": [{ prefix: "Connection " }] });
        });
    });

    describe("in the program (offline preview)", () => {
        let dev: PreviewResult;
        let team: PreviewResult;
        before(() => {
            dev = preview(["--stack", "dev", "--json"]);
            assert.equal(dev.status, 0, dev.stderr);
            team = preview(["--stack", "dev", "--json", "--config", `alarmSnsTopicArn=${TEAM_TOPIC}`, "--config", `alarmActionGroupId=${TEAM_GROUP}`]);
            assert.equal(team.status, 0, team.stderr);
        });

        it("the expiry schedule fires secretExpiryAlarmDays before the active secret's end, and publishes to the alarm topic through its own role", () => {
            const schedule = one(dev, "aws:scheduler/schedule:Schedule");
            const topic = one(dev, "aws:sns/topic:Topic");
            const end = Date.parse(dev.outputs.publisherSecretEndDate);
            const at = /^at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$/.exec(schedule.inputs.scheduleExpression);
            assert.ok(at, schedule.inputs.scheduleExpression);
            assert.equal(Date.parse(`${at[1]}Z`), end - 21 * 86_400_000);
            assert.equal(schedule.inputs.scheduleExpressionTimezone, "UTC");
            assert.deepEqual(schedule.inputs.flexibleTimeWindow, { mode: "OFF" });
            assert.equal(schedule.inputs.actionAfterCompletion, "NONE");
            assert.equal(schedule.inputs.target.arn, topic.outputs.arn);
            assert.match(schedule.inputs.target.input, new RegExp(`slot ${dev.outputs.publisherActiveSecretSlot}\\) expires ${dev.outputs.publisherSecretEndDate}`));
            assert.equal(dev.outputs.secretExpiryPageAt, `${at[1]}Z`);

            const role = all(dev, "aws:iam/role:Role").find((r) => r.outputs.arn === schedule.inputs.target.roleArn);
            assert.ok(role, "the schedule's role is one of the program's roles");
            const trust = policy(role.inputs.assumeRolePolicy).Statement;
            assert.deepEqual(trust.map((s) => s.Principal.Service), ["scheduler.amazonaws.com"]);
            const rolePolicy = all(dev, "aws:iam/rolePolicy:RolePolicy").find((p) => p.inputs.role === role.outputs.id);
            assert.ok(rolePolicy);
            const statements = policy(rolePolicy.inputs.policy).Statement;
            assert.deepEqual(statements.map((s) => [s.Action, s.Resource]), [
                ["sns:Publish", [topic.outputs.arn]],
                [["kms:GenerateDataKey*", "kms:Decrypt"], one(dev, "aws:kms/key:Key").outputs.arn],
            ]);
        });

        it("the schedule is a fixed instant: it depends on the end date, not on when the program runs", () => {
            const seen = one(dev, "time:index/static:Static");
            assert.deepEqual(seen.inputs.triggers, { endDate: dev.outputs.publisherSecretEndDate });
        });

        it("connection-state rule: on the default bus, to the alarm topic, and the topic policy lets exactly that rule publish", () => {
            const rule = one(dev, "aws:cloudwatch/eventRule:EventRule", "-connection-state");
            assert.equal(rule.inputs.eventBusName, undefined);
            assert.equal(rule.inputs.eventPattern, connectionStatePattern());
            const topic = one(dev, "aws:sns/topic:Topic");
            const target = one(dev, "aws:cloudwatch/eventTarget:EventTarget", "-connection-state-topic");
            assert.equal(target.inputs.rule, rule.outputs.name);
            assert.equal(target.inputs.arn, topic.outputs.arn);

            const topicPolicy = one(dev, "aws:sns/topicPolicy:TopicPolicy");
            assert.equal(topicPolicy.inputs.arn, topic.outputs.arn);
            const statements = policy(topicPolicy.inputs.policy).Statement;
            const events = statements.filter((s) => s.Principal?.Service === "events.amazonaws.com");
            assert.equal(events.length, 1);
            assert.deepEqual(events[0].Condition, { ArnEquals: { "aws:SourceArn": rule.outputs.arn } });
            assert.equal(events[0].Resource, topic.outputs.arn);
            // Replacing SNS's default policy must not lock out the CloudWatch alarms.
            assert.ok(statements.some((s) => s.Principal?.Service === "cloudwatch.amazonaws.com" && s.Action === "sns:Publish"));
            assert.equal(statements.filter((s) => s.Principal === "*" || s.Principal?.AWS === "*").length, 0);
            const key = policy(one(dev, "aws:kms/key:Key").inputs.policy).Statement;
            assert.ok(key.some((s) => s.Principal?.Service === "events.amazonaws.com" && s.Action.includes("kms:GenerateDataKey*")));
        });

        it("a team SNS topic gets every CloudWatch alarm, a second rule target and a second schedule", () => {
            const own = one(team, "aws:sns/topic:Topic").outputs.arn;
            const alarms = all(team, "aws:cloudwatch/metricAlarm:MetricAlarm");
            assert.ok(alarms.length >= 5);
            for (const alarm of alarms) {
                assert.deepEqual(alarm.inputs.alarmActions, [own, TEAM_TOPIC], alarm.name);
                assert.deepEqual(alarm.inputs.okActions, [own, TEAM_TOPIC], alarm.name);
            }
            assert.equal(one(team, "aws:cloudwatch/eventTarget:EventTarget", "-connection-state-team-topic").inputs.arn, TEAM_TOPIC);
            const schedules = all(team, "aws:scheduler/schedule:Schedule");
            assert.deepEqual(schedules.map((s) => s.inputs.target.arn).sort(), [own, TEAM_TOPIC].sort());
            const rolePolicy = all(team, "aws:iam/rolePolicy:RolePolicy").find((p) => p.name.endsWith("-scheduler-publish"));
            assert.deepEqual(policy(rolePolicy!.inputs.policy).Statement[0].Resource, [own, TEAM_TOPIC]);
            // without a team topic, none of that exists
            assert.equal(all(dev, "aws:scheduler/schedule:Schedule").length, 1);
            assert.equal(all(dev, "aws:cloudwatch/eventTarget:EventTarget").filter((t) => t.name.includes("connection-state")).length, 1);
        });

        it("a team action group is notified by the Service Bus dead-letter alert, next to the mesh's own", () => {
            const own = one(team, "azure-native:monitor:ActionGroup");
            const alert = one(team, "azure-native:monitor:MetricAlert", "-dlq-alert");
            assert.deepEqual(alert.inputs.actions, [{ actionGroupId: own.outputs.id }, { actionGroupId: TEAM_GROUP }]);
            assert.deepEqual(one(dev, "azure-native:monitor:MetricAlert", "-dlq-alert").inputs.actions, [{ actionGroupId: one(dev, "azure-native:monitor:ActionGroup").outputs.id }]);
        });

        it("dev without a receiver warns in the preview; prod without one fails naming the keys", () => {
            assert.match(dev.stderr + dev.stdout, /no alarm receiver is configured: every alarm of this stack notifies no one/);
            const prod = preview(["--stack", "prod", "--config", "alarmEmail="]);
            assert.notEqual(prod.status, 0);
            assert.match(prod.stderr + prod.stdout, /multicloud-mesh:requireAlarmReceiver: is true but no alarm receiver is set; set at least one of multicloud-mesh:alarmEmail, multicloud-mesh:alarmSnsTopicArn, multicloud-mesh:alarmActionGroupId/);
        });
    });
});
