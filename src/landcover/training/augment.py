"""Augmentations that make sense for overhead imagery, applied to image and mask together.

A satellite tile has no "up": any of the 8 flips and 90-degree rotations of
the square (the dihedral group D4) is another plausible tile, so these are the
augmentations used. Colour or brightness changes are left out on purpose: the
14 channels are physical reflectances and indices whose values carry the class.

Images are ``(rows, cols, bands)`` float32 as albumentations expects; masks are
label arrays (uint8, 0 = nodata). Every geometric step moves the mask exactly
like the image; resizing uses bilinear interpolation for the image and
nearest neighbour for the mask, so a label never becomes an average of two
classes.
"""

from __future__ import annotations

import albumentations as A
import cv2


def _resize(size: int) -> A.Resize:
    return A.Resize(size, size, interpolation=cv2.INTER_LINEAR, mask_interpolation=cv2.INTER_NEAREST)


def training_transform(
    *, crop_size: int | None = None, augment_size: int | None = None, tiles_size: int = 250
) -> A.Compose:
    """Random D4 symmetry, optional resize to ``augment_size`` and optional random crop.

    ``augment_size``: the size the network works at (``params.json``); tiles are
    resized to it first when it differs from ``tiles_size``. ``crop_size``: a
    random square window (in ``augment_size`` pixels) cut from each tile to
    train faster; validation and inference still use the whole tile.
    """
    steps: list[A.BasicTransform] = []
    resized = augment_size is not None and augment_size != tiles_size
    working = augment_size if resized else tiles_size
    if crop_size is not None and crop_size < working:
        # Crop first, then resize the crop: the same pixels as resizing the whole
        # tile and cropping it, at a fraction of the cost. pad_if_needed: a smaller
        # tile is padded with nodata (label 0), which the loss ignores.
        source = round(crop_size * tiles_size / working) if resized else crop_size
        steps.append(A.RandomCrop(source, source, pad_if_needed=True, fill=0.0, fill_mask=0))
        if resized:
            steps.append(_resize(crop_size))
    elif resized:
        steps.append(_resize(augment_size))
    steps.append(A.SquareSymmetry(p=1.0))
    return A.Compose(steps)


def evaluation_transform(*, augment_size: int | None = None, tiles_size: int = 250) -> A.Compose | None:
    """The image-side preprocessing of validation and inference: only the resize, if any.

    Call it on the image alone (``transform(image=...)``): metrics are computed
    against the label at its own resolution, after upsampling the logits.
    """
    if augment_size is None or augment_size == tiles_size:
        return None
    return A.Compose([_resize(augment_size)])
