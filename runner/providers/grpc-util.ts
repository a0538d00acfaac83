/** Small helpers for calling Pulumi's generated gRPC stubs with plain property maps. */
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import * as statusproto from "@pulumi/pulumi/proto/status_pb";
import { PropertyMap, toJsonMap } from "../props";
import { InitError } from "./plugin";

export type Callback<Res> = (err: grpc.ServiceError | null, res: Res) => void;

/**
 * One unary call; a failure carries the plugin's own message, prefixed with what was asked. A
 * failure whose status details hold ErrorResourceInitFailed (the object was made but did not
 * initialize; the engine's parseError in provider_plugin.go) becomes an InitError with what exists.
 */
export function rpc<Res>(what: string, invoke: (cb: Callback<Res>) => unknown): Promise<Res> {
  return new Promise((resolve, reject) =>
    invoke((err, res) => {
      if (!err) return resolve(res);
      const message = `${what}: ${err.details || err.message}`;
      reject(initFailure(err, message) ?? new Error(message));
    }),
  );
}

function initFailure(err: grpc.ServiceError, message: string): InitError | undefined {
  for (const bin of err.metadata?.get("grpc-status-details-bin") ?? []) {
    const status = statusproto.Status.deserializeBinary(typeof bin === "string" ? Buffer.from(bin, "base64") : bin);
    for (const any of status.getDetailsList()) {
      if (!any.getTypeUrl().endsWith("pulumirpc.ErrorResourceInitFailed")) continue;
      const detail = provproto.ErrorResourceInitFailed.deserializeBinary(any.getValue_asU8());
      return new InitError(message, detail.getId(), plain(detail.getProperties()), detail.getReasonsList());
    }
  }
  return undefined;
}

export function struct(m: PropertyMap): Struct {
  return Struct.fromJavaScript(toJsonMap(m) as Record<string, never>);
}

export function plain(s: Struct | undefined): PropertyMap {
  return s ? toJsonMap(s.toJavaScript()) : {};
}

/** Channel options as the engine sets them: messages up to 400 MB (a big stack's state is large). */
export const CHANNEL_OPTIONS = { "grpc.max_receive_message_length": 400 * 1024 * 1024, "grpc.max_send_message_length": 400 * 1024 * 1024 };
