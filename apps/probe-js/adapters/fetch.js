'use strict';
// @kubernetes/client-node 1.x (the fetch era): an ES module whose generated clients take
// one parameter object and send through node-fetch. listNamespacedPod resolves to the
// V1PodList; an HTTP error rejects with an ApiException whose code is the status.

exports.name = 'fetch';

exports.load = async () => import('@kubernetes/client-node');

exports.connect = (k8s, pathPrefix) => {
  const kc = new k8s.KubeConfig();
  kc.loadFromCluster(pathPrefix);
  return kc.makeApiClient(k8s.CoreV1Api);
};

exports.list = (api, namespace) => api.listNamespacedPod({ namespace });

// failure returns the HTTP status (0 when none) and body of a rejected call. Node's
// system errors carry a string code (ECONNREFUSED), never a number.
exports.failure = (err) => {
  if (err && typeof err.code === 'number') return { status: err.code, body: err.body };
  return { status: 0 };
};
