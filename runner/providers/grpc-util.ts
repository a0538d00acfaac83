/** Small helpers for calling Pulumi's generated gRPC stubs with plain property maps. */
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { PropertyMap, toJsonMap } from "../props";

export type Callback<Res> = (err: grpc.ServiceError | null, res: Res) => void;

/** One unary call; a failure carries the plugin's own message, prefixed with what was asked. */
export function rpc<Res>(what: string, invoke: (cb: Callback<Res>) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => invoke((err, res) => (err ? reject(new Error(`${what}: ${err.details || err.message}`)) : resolve(res))));
}

export function struct(m: PropertyMap): Struct {
  return Struct.fromJavaScript(toJsonMap(m) as Record<string, never>);
}

export function plain(s: Struct | undefined): PropertyMap {
  return s ? toJsonMap(s.toJavaScript()) : {};
}

/** Channel options as the engine sets them: messages up to 400 MB (a big stack's state is large). */
export const CHANNEL_OPTIONS = { "grpc.max_receive_message_length": 400 * 1024 * 1024, "grpc.max_send_message_length": 400 * 1024 * 1024 };
