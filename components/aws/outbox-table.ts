import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { OUTBOX_KEY_ATTRIBUTE, OUTBOX_TTL_ATTRIBUTE } from "../../runtime/outbox-schema";

export interface OutboxTableArgs {
    /** Refuse deletion of the table (DynamoDB deletion protection and Pulumi `protect`). */
    deletionProtection: boolean;
    /** Tags for the table, on top of the provider's default tags. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The transactional outbox: producers write their business record and one item per event in one
 * DynamoDB transaction; the table's stream (NEW_IMAGE, so each record carries the whole event) feeds
 * the relay. Published rows expire through TTL.
 */
export class OutboxTable extends pulumi.ComponentResource {
    public readonly tableName: pulumi.Output<string>;
    public readonly tableArn: pulumi.Output<string>;
    public readonly streamArn: pulumi.Output<string>;

    constructor(name: string, args: OutboxTableArgs, opts?: pulumi.ComponentResourceOptions) {
        super("multicloud-mesh:aws:OutboxTable", name, {}, opts);

        const table = new aws.dynamodb.Table(
            `${name}-table`,
            {
                billingMode: "PAY_PER_REQUEST",
                hashKey: OUTBOX_KEY_ATTRIBUTE,
                attributes: [{ name: OUTBOX_KEY_ATTRIBUTE, type: "S" }],
                streamEnabled: true,
                streamViewType: "NEW_IMAGE",
                pointInTimeRecovery: { enabled: true },
                serverSideEncryption: { enabled: true },
                ttl: { attributeName: OUTBOX_TTL_ATTRIBUTE, enabled: true },
                deletionProtectionEnabled: args.deletionProtection,
                tags: args.tags,
            },
            { parent: this, protect: args.deletionProtection },
        );

        this.tableName = table.name;
        this.tableArn = table.arn;
        this.streamArn = table.streamArn;
        this.registerOutputs({ tableName: this.tableName, tableArn: this.tableArn, streamArn: this.streamArn });
    }
}
