// k6 scenario: GET a small JSON resource, either at max throughput (closed model, VUS virtual users)
// or at a fixed arrival RATE (open model, for latency at moderate load). Run by bench/http/run.ts.

import { check } from "k6";
import http from "k6/http";

const rate = Number(__ENV.RATE || 0);
export const options = {
  discardResponseBodies: true,
  scenarios: rate
    ? {
        fixed: {
          executor: "constant-arrival-rate",
          rate,
          timeUnit: "1s",
          duration: __ENV.DURATION || "10s",
          preAllocatedVUs: Number(__ENV.VUS_POOL || 64),
        },
      }
    : { max: { executor: "constant-vus", vus: Number(__ENV.VUS || 16), duration: __ENV.DURATION || "10s" } },
};

const params = __ENV.TOKEN ? { headers: { authorization: `Bearer ${__ENV.TOKEN}` } } : {};

export default function () {
  const res = http.get(__ENV.URL, params);
  check(res, { "status 200": (r) => r.status === 200 });
}
