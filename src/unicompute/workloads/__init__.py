"""Workloads: VM groups described in a YAML file, launched alike on any cloud.

```python
from unicompute import workloads

workload = workloads.load("web.yaml")
with unicompute.connect("aws", region="us-east-1") as cloud:
    result = workloads.launch(workload, cloud)      # only what is missing
    workloads.destroy(workload.name, cloud)         # everything tagged with the workload
```
"""

from ._yaml import WorkloadError
from .apply import (
    GROUP_TAG,
    WORKLOAD_TAG,
    Deployment,
    GroupPlan,
    LaunchIncomplete,
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
from .spec import VMGroup, Workload, load, parse, schema

__all__ = [
    "GROUP_TAG",
    "WORKLOAD_TAG",
    "Deployment",
    "GroupPlan",
    "LaunchIncomplete",
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
    "schema",
    "status",
    "vm_name",
]
