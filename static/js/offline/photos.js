/* Photos made smaller on the phone before they wait in the offline queue (ui.js): at most the size the server
 * keeps, JPEG, the original's Exif segment (GPS position, date taken) carried over with its orientation set to
 * upright, since the canvas draws the photo already turned. Loaded by the update form only.
 */
(function () {
  'use strict';
  var MAX_SIDE = 2048;  // the server keeps photos at this size (khgeo/services/photos.py STORED_MAX_SIDE)

  function exifSegment(buffer) {
    // the JPEG's APP1 "Exif" segment (GPS position, date taken), with its orientation set to "upright":
    // the canvas draws the photo already turned
    var bytes = new Uint8Array(buffer);
    if (bytes[0] !== 0xff || bytes[1] !== 0xd8) { return null; }
    var at = 2;
    while (at + 4 < bytes.length && bytes[at] === 0xff) {
      var marker = bytes[at + 1];
      var length = (bytes[at + 2] << 8) | bytes[at + 3];
      if (marker === 0xe1 && bytes[at + 4] === 0x45 && bytes[at + 5] === 0x78) {
        var segment = bytes.slice(at, at + 2 + length);
        uprightOrientation(segment);
        return segment;
      }
      if (marker === 0xda) { break; }
      at += 2 + length;
    }
    return null;
  }

  function uprightOrientation(segment) {
    var tiff = 10;  // FF E1, length (2), "Exif\0\0"
    var view = new DataView(segment.buffer, segment.byteOffset, segment.byteLength);
    if (tiff + 8 > segment.length) { return; }
    var little = view.getUint16(tiff) === 0x4949;
    var ifd = tiff + view.getUint32(tiff + 4, little);
    if (ifd + 2 > segment.length) { return; }
    var entries = view.getUint16(ifd, little);
    for (var i = 0; i < entries; i += 1) {
      var entry = ifd + 2 + i * 12;
      if (entry + 12 > segment.length) { return; }
      if (view.getUint16(entry, little) === 0x0112) { view.setUint16(entry + 8, 1, little); return; }
    }
  }

  function resize(file) {
    if (!/^image\/(jpeg|png)$/.test(file.type) || !window.createImageBitmap) { return Promise.resolve({ blob: file, name: file.name }); }
    return Promise.all([createImageBitmap(file), file.arrayBuffer()]).then(function (results) {
      var bitmap = results[0];
      var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement('canvas');
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      var exif = file.type === 'image/jpeg' ? exifSegment(results[1]) : null;
      return new Promise(function (resolve) { canvas.toBlob(resolve, 'image/jpeg', 0.85); }).then(function (blob) {
        if (!blob) { return { blob: file, name: file.name }; }
        var name = file.name.replace(/\.[^.]*$/, '') + '.jpg';
        if (!exif) { return { blob: blob, name: name }; }
        return blob.arrayBuffer().then(function (jpeg) {
          var body = new Uint8Array(jpeg);
          return { blob: new Blob([body.slice(0, 2), exif, body.slice(2)], { type: 'image/jpeg' }), name: name };
        });
      });
    }).catch(function () { return { blob: file, name: file.name }; });
  }

  window.khgeoPhotos = { resize: resize };
}());
