package gates

// The API lifecycle table: which apiVersion of which kind is deprecated and removed in which
// Kubernetes minor version (1.x), and what replaces it.
//
// Sources:
//   - removals through 1.32: the Kubernetes Deprecated API Migration Guide
//     (kubernetes.io/docs/reference/using-api/deprecation-guide/), with deprecation versions from
//     the same guide and the release notes it links;
//   - 1.33 and later: the prerelease-lifecycle markers of k8s.io/api v0.37.2
//     (zz_generated.prerelease-lifecycle.go: APILifecycleDeprecated, APILifecycleRemoved,
//     APILifecycleReplacement), which the API server itself uses to stop serving beta versions;
//   - core/v1 Endpoints: deprecated in 1.33 (KEP-4974), not scheduled for removal.
//
// Only kinds that appear in manifests are listed (no TokenReview, Scale or Eviction). Alpha
// versions are listed where the markers give dates; they are off by default in any cluster.
// When a new Kubernetes minor version is released, add its removals here and raise
// newestKnownMinor; apis_test.go checks the table against the k8s.io/api markers.

type apiKey struct{ groupVersion, kind string }

type apiChange struct {
	deprecated, removed int    // minor versions; 0 = not deprecated / not scheduled
	replacement         string // apiVersion to use instead; "" when none
	note                string // what else to know when migrating
}

// newestKnownMinor is the newest Kubernetes minor version the table covers, assumed when no
// target version is given.
const newestKnownMinor = 37

var apiLifecycle = func() map[apiKey]apiChange {
	m := map[apiKey]apiChange{}
	add := func(gv string, kinds []string, deprecated, removed int, replacement, note string) {
		for _, k := range kinds {
			m[apiKey{gv, k}] = apiChange{deprecated, removed, replacement, note}
		}
	}
	const pspNote = "PodSecurityPolicy has no replacement API: use Pod Security Admission (the pod-security.kubernetes.io/enforce namespace label) or a policy engine"

	// 1.16
	add("extensions/v1beta1", []string{"DaemonSet", "Deployment", "ReplicaSet"}, 8, 16, "apps/v1", "spec.selector is required and immutable in apps/v1")
	add("extensions/v1beta1", []string{"NetworkPolicy"}, 9, 16, "networking.k8s.io/v1", "")
	add("extensions/v1beta1", []string{"PodSecurityPolicy"}, 10, 16, "", pspNote)
	add("apps/v1beta1", []string{"Deployment", "StatefulSet", "ControllerRevision", "ReplicaSet"}, 8, 16, "apps/v1", "spec.selector is required and immutable in apps/v1")
	add("apps/v1beta2", []string{"DaemonSet", "Deployment", "ReplicaSet", "StatefulSet", "ControllerRevision"}, 9, 16, "apps/v1", "")

	// 1.22
	add("admissionregistration.k8s.io/v1beta1", []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}, 16, 22, "admissionregistration.k8s.io/v1",
		"webhooks[*].admissionReviewVersions and sideEffects are required in v1")
	add("apiextensions.k8s.io/v1beta1", []string{"CustomResourceDefinition"}, 16, 22, "apiextensions.k8s.io/v1",
		"v1 needs a structural schema per version (spec.versions[*].schema.openAPIV3Schema)")
	add("apiregistration.k8s.io/v1beta1", []string{"APIService"}, 19, 22, "apiregistration.k8s.io/v1", "")
	add("certificates.k8s.io/v1beta1", []string{"CertificateSigningRequest"}, 19, 22, "certificates.k8s.io/v1", "spec.signerName is required in v1")
	add("coordination.k8s.io/v1beta1", []string{"Lease"}, 19, 22, "coordination.k8s.io/v1", "")
	add("extensions/v1beta1", []string{"Ingress"}, 14, 22, "networking.k8s.io/v1",
		"backend.serviceName/servicePort became backend.service.name/port, and pathType is required")
	add("networking.k8s.io/v1beta1", []string{"Ingress"}, 19, 22, "networking.k8s.io/v1",
		"backend.serviceName/servicePort became backend.service.name/port, and pathType is required")
	add("networking.k8s.io/v1beta1", []string{"IngressClass"}, 19, 22, "networking.k8s.io/v1", "")
	add("rbac.authorization.k8s.io/v1beta1", []string{"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}, 17, 22, "rbac.authorization.k8s.io/v1", "")
	add("scheduling.k8s.io/v1beta1", []string{"PriorityClass"}, 14, 22, "scheduling.k8s.io/v1", "")
	add("storage.k8s.io/v1beta1", []string{"CSIDriver", "StorageClass", "VolumeAttachment"}, 19, 22, "storage.k8s.io/v1", "")
	add("storage.k8s.io/v1beta1", []string{"CSINode"}, 17, 22, "storage.k8s.io/v1", "")

	// 1.25
	add("batch/v1beta1", []string{"CronJob"}, 21, 25, "batch/v1", "")
	add("discovery.k8s.io/v1beta1", []string{"EndpointSlice"}, 21, 25, "discovery.k8s.io/v1", "topology became per-endpoint zone and hints")
	add("events.k8s.io/v1beta1", []string{"Event"}, 22, 25, "events.k8s.io/v1", "")
	add("autoscaling/v2beta1", []string{"HorizontalPodAutoscaler"}, 23, 25, "autoscaling/v2", "targetAverageUtilization became target.averageUtilization")
	add("policy/v1beta1", []string{"PodDisruptionBudget"}, 21, 25, "policy/v1", "an empty spec.selector selects every pod in the namespace in policy/v1")
	add("policy/v1beta1", []string{"PodSecurityPolicy"}, 21, 25, "", pspNote)
	add("node.k8s.io/v1beta1", []string{"RuntimeClass"}, 22, 25, "node.k8s.io/v1", "")

	// 1.26
	add("flowcontrol.apiserver.k8s.io/v1beta1", []string{"FlowSchema", "PriorityLevelConfiguration"}, 23, 26, "flowcontrol.apiserver.k8s.io/v1", "")
	add("autoscaling/v2beta2", []string{"HorizontalPodAutoscaler"}, 23, 26, "autoscaling/v2", "")

	// 1.27
	add("storage.k8s.io/v1beta1", []string{"CSIStorageCapacity"}, 24, 27, "storage.k8s.io/v1", "")

	// 1.29
	add("flowcontrol.apiserver.k8s.io/v1beta2", []string{"FlowSchema", "PriorityLevelConfiguration"}, 26, 29, "flowcontrol.apiserver.k8s.io/v1",
		"assuredConcurrencyShares became nominalConcurrencyShares")

	// 1.32
	add("flowcontrol.apiserver.k8s.io/v1beta3", []string{"FlowSchema", "PriorityLevelConfiguration"}, 29, 32, "flowcontrol.apiserver.k8s.io/v1",
		"nominalConcurrencyShares only defaults to 30 when unset; an explicit 0 stays 0")
	add("admissionregistration.k8s.io/v1alpha1", []string{"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}, 29, 32, "admissionregistration.k8s.io/v1", "")

	// 1.33 and later, from the k8s.io/api v0.37.2 lifecycle markers.
	add("v1", []string{"Endpoints"}, 33, 0, "discovery.k8s.io/v1 EndpointSlice", "Endpoints is still served; EndpointSlice replaces it")
	add("admissionregistration.k8s.io/v1beta1", []string{"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}, 31, 34, "admissionregistration.k8s.io/v1", "")
	add("storage.k8s.io/v1alpha1", []string{"VolumeAttributesClass"}, 32, 35, "storage.k8s.io/v1", "")
	add("storage.k8s.io/v1beta1", []string{"VolumeAttributesClass"}, 34, 37, "storage.k8s.io/v1", "")
	add("networking.k8s.io/v1beta1", []string{"IPAddress", "ServiceCIDR"}, 34, 37, "networking.k8s.io/v1", "")
	add("certificates.k8s.io/v1alpha1", []string{"ClusterTrustBundle"}, 34, 37, "certificates.k8s.io/v1", "")
	add("admissionregistration.k8s.io/v1alpha1", []string{"MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"}, 35, 38, "admissionregistration.k8s.io/v1", "")
	add("resource.k8s.io/v1beta1", []string{"DeviceClass", "ResourceClaim", "ResourceClaimTemplate", "ResourceSlice"}, 35, 38, "resource.k8s.io/v1", "")
	add("coordination.k8s.io/v1alpha2", []string{"LeaseCandidate"}, 35, 38, "coordination.k8s.io/v1beta1", "")
	add("resource.k8s.io/v1beta2", []string{"DeviceClass", "ResourceClaim", "ResourceClaimTemplate", "ResourceSlice"}, 36, 39, "resource.k8s.io/v1", "")
	add("admissionregistration.k8s.io/v1beta1", []string{"MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"}, 37, 40, "admissionregistration.k8s.io/v1", "")
	add("certificates.k8s.io/v1beta1", []string{"ClusterTrustBundle", "PodCertificateRequest"}, 37, 40, "certificates.k8s.io/v1", "")
	return m
}()
