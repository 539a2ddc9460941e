import type { OperationHandler } from "./put-events-endpoint";

/**
 * EventBridge's DescribeConnection for the local endpoint (`setOperation("DescribeConnection", …)`):
 * connections the test declares, each in a state the test sets. As the API reference documents it
 * (Amazon EventBridge API Reference, DescribeConnection and the Connection data type): Name is
 * 1..64 characters of `[\.\-_A-Za-z0-9]`, an unknown name answers ResourceNotFoundException, and
 * ConnectionState is one of the values below.
 */
export const CONNECTION_STATES = [
    "CREATING",
    "UPDATING",
    "DELETING",
    "AUTHORIZED",
    "DEAUTHORIZED",
    "AUTHORIZING",
    "DEAUTHORIZING",
    "ACTIVE",
    "FAILED_CONNECTIVITY",
] as const;
export type ConnectionStateName = (typeof CONNECTION_STATES)[number];

export interface LocalConnections {
    handler: OperationHandler;
    set(name: string, state: ConnectionStateName, reason?: string): void;
}

const NAME = /^[.\-_A-Za-z0-9]{1,64}$/;

export function localConnections(region = "us-east-1", account = "123456789012"): LocalConnections {
    const connections = new Map<string, { state: ConnectionStateName; reason?: string; created: number }>();
    return {
        set: (name, state, reason) => {
            if (!NAME.test(name)) throw new Error(`connection name ${JSON.stringify(name)} breaks EventBridge's pattern [.\\-_A-Za-z0-9]{1,64}`);
            connections.set(name, { state, reason, created: connections.get(name)?.created ?? Date.now() });
        },
        handler: (body) => {
            const name = body.Name;
            if (typeof name !== "string" || !NAME.test(name)) {
                return {
                    status: 400,
                    errorType: "ValidationException",
                    body: { __type: "ValidationException", message: `1 validation error detected: Value '${String(name)}' at 'name' failed to satisfy constraint` },
                };
            }
            const connection = connections.get(name);
            if (!connection) {
                return { status: 400, errorType: "ResourceNotFoundException", body: { __type: "ResourceNotFoundException", message: `Failed to describe the connection(s). Connection '${name}' does not exist.` } };
            }
            return {
                body: {
                    ConnectionArn: `arn:aws:events:${region}:${account}:connection/${name}/00000000-0000-4000-8000-000000000000`,
                    Name: name,
                    ConnectionState: connection.state,
                    ...(connection.reason ? { StateReason: connection.reason } : {}),
                    AuthorizationType: "OAUTH_CLIENT_CREDENTIALS",
                    CreationTime: connection.created / 1000,
                },
            };
        },
    };
}
