import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

/** The metric an alarm watches; the threshold defaults to 0 (alarm on the first occurrence). */
export type AlarmMetric = Pick<aws.cloudwatch.MetricAlarmArgs, "namespace" | "metricName" | "dimensions" | "statistic"> & { threshold?: number };

/**
 * Every AWS alarm of the mesh has the same shape: one minute, one evaluation, above a threshold
 * (0 unless given), missing data is fine, notify every alarm topic on alarm and on recovery (the
 * mesh's own and, when configured, the team's existing one: CloudWatch takes up to five actions).
 */
export function alarmAbove(
    name: string,
    description: string,
    metric: AlarmMetric,
    notify: { topicArns: pulumi.Input<pulumi.Input<string>[]>; tags?: pulumi.Input<Record<string, pulumi.Input<string>>> },
    parent: pulumi.Resource,
): aws.cloudwatch.MetricAlarm {
    return new aws.cloudwatch.MetricAlarm(
        name,
        {
            alarmDescription: description,
            comparisonOperator: "GreaterThanThreshold",
            threshold: 0,
            evaluationPeriods: 1,
            period: 60,
            treatMissingData: "notBreaching",
            alarmActions: notify.topicArns,
            okActions: notify.topicArns,
            tags: notify.tags,
            ...metric,
        },
        { parent },
    );
}
