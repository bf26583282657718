"""Workloads: VM groups described in a YAML file, launched alike on any cloud.

```python
from unicompute import workloads

workload = workloads.load("web.yaml")
with unicompute.connect("aws", region="us-east-1") as cloud:
    result = workloads.launch(workload, cloud)      # only what is missing
    workloads.destroy(workload.name, cloud)         # everything tagged with the workload
```

Commands that only need the name (``status``, ``destroy``) use :func:`read_name`, which checks
nothing else in the file.
"""

from ._yaml import WorkloadError
from .apply import (
    DEFAULT_TIMEOUT,
    DESTROY_WORKERS,
    Deployment,
    DestroyIncomplete,
    GroupPlan,
    LaunchIncomplete,
    LaunchInterrupted,
    LaunchResult,
    Plan,
    Progress,
    ProgressCallback,
    Step,
    destroy,
    execute,
    launch,
    plan,
    status,
    vm_name,
)
from .spec import (
    DEFAULT_IMAGE,
    GROUP_TAG,
    WORKLOAD_TAG,
    VMGroup,
    Workload,
    load,
    parse,
    read_name,
    schema,
)

__all__ = [
    "DEFAULT_IMAGE",
    "DEFAULT_TIMEOUT",
    "DESTROY_WORKERS",
    "GROUP_TAG",
    "WORKLOAD_TAG",
    "Deployment",
    "DestroyIncomplete",
    "GroupPlan",
    "LaunchIncomplete",
    "LaunchInterrupted",
    "LaunchResult",
    "Plan",
    "Progress",
    "ProgressCallback",
    "Step",
    "VMGroup",
    "Workload",
    "WorkloadError",
    "destroy",
    "execute",
    "launch",
    "load",
    "parse",
    "plan",
    "read_name",
    "schema",
    "status",
    "vm_name",
]
