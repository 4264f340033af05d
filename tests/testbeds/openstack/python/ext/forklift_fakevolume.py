"""Cinder's fake volume driver, plus an image upload: the stock FakeLoggingVolumeDriver
inherits LVM's copy_volume_to_image, which needs a real device. This one uploads a fixed
1 MiB pattern (fake volumes hold no data), so os-volume_upload_image ends with an active
image and the migration's volume path runs through its whole API flow."""
import io

from cinder.tests import fake_driver

PATTERN = b'FLVOLUME' * (1024 * 1024 // 8)


class UploadingFakeDriver(fake_driver.FakeLoggingVolumeDriver):
    def copy_volume_to_image(self, context, volume, image_service, image_meta):
        image_service.update(context, image_meta['id'],
                             {'disk_format': 'raw', 'container_format': 'bare'},
                             data=io.BytesIO(PATTERN))
