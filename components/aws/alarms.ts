import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

/** The metric an alarm watches; the threshold defaults to 0 (alarm on the first occurrence). */
export type AlarmMetric = Pick<aws.cloudwatch.MetricAlarmArgs, "namespace" | "metricName" | "dimensions" | "statistic"> & { threshold?: number };

/**
 * Every AWS alarm of the mesh has the same shape: one minute, one evaluation, above a threshold
 * (0 unless given), missing data is fine, notify the alarm topic on alarm and on recovery.
 */
export function alarmAbove(
    name: string,
    description: string,
    metric: AlarmMetric,
    notify: { topicArn: pulumi.Input<string>; tags?: pulumi.Input<Record<string, pulumi.Input<string>>> },
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
            alarmActions: [notify.topicArn],
            okActions: [notify.topicArn],
            tags: notify.tags,
            ...metric,
        },
        { parent },
    );
}
