'use strict';
// @kubernetes/client-node 0.x (the request era, 0.10.x–0.22.x): CommonJS, generated
// clients on the `request` library, positional arguments. listNamespacedPod resolves to
// {response, body}; an HTTP error rejects with {response, body} (to 0.12.x) or an
// HttpError with statusCode (0.13+).

exports.name = 'request';

exports.load = async () => require('@kubernetes/client-node');

exports.connect = (k8s, pathPrefix) => {
  const kc = new k8s.KubeConfig();
  kc.loadFromCluster(pathPrefix);
  return kc.makeApiClient(k8s.CoreV1Api);
};

exports.list = (api, namespace) => api.listNamespacedPod(namespace);

// failure returns the HTTP status (0 when none) and body of a rejected call.
exports.failure = (err) => {
  if (err && typeof err.statusCode === 'number') return { status: err.statusCode, body: err.body };
  if (err && err.response && typeof err.response.statusCode === 'number') {
    return { status: err.response.statusCode, body: err.body };
  }
  return { status: 0 };
};
