#!/usr/bin/python3
"""nova-compute with a fake driver whose snapshot uploads the server's own image.

Nova's stock FakeDriver leaves a createImage snapshot `queued` (it uploads nothing). This
driver uploads the bytes of the image the server booted from, in that image's disk format,
so a migration that downloads the snapshot gets a real disk image (the tests boot servers from
a qcow2 holding an ext4 file system and compare the migrated disk with it).
"""
import io
import sys
import types

import nova.cmd  # noqa: F401  (eventlet monkey-patching first, as nova-compute does)
from nova import exception
from nova.compute import task_states
from nova.image import glance
from nova.virt import fake


class ImageCopyingFakeDriver(fake.FakeDriver):
    def snapshot(self, context, instance, image_id, update_task_state):
        if instance.uuid not in self.instances:
            raise exception.InstanceNotRunning(instance_id=instance.uuid)
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        update_task_state(task_state=task_states.IMAGE_UPLOADING,
                          expected_state=task_states.IMAGE_PENDING_UPLOAD)
        api = glance.API()
        meta = {'disk_format': 'raw', 'container_format': 'bare'}
        data = b'FORKLIFT' * (1024 * 1024 // 8)
        if instance.image_ref:
            base = api.get(context, instance.image_ref)
            meta['disk_format'] = base.get('disk_format') or 'raw'
            meta['container_format'] = base.get('container_format') or 'bare'
            buffer = io.BytesIO()
            api.download(context, instance.image_ref, data=buffer)
            data = buffer.getvalue()
        api.update(context, image_id, meta, data=io.BytesIO(data), purge_props=False)


module = types.ModuleType('nova.virt.forklift_testfake')
module.ImageCopyingFakeDriver = ImageCopyingFakeDriver
sys.modules['nova.virt.forklift_testfake'] = module

from nova.cmd.compute import main  # noqa: E402

sys.exit(main())
