document.addEventListener('DOMContentLoaded', function () {
  var box = document.getElementById('search');
  var count = document.getElementById('count');
  if (!box) { return; }
  var threads = Array.prototype.slice.call(document.querySelectorAll('article.thread'));
  box.addEventListener('input', function () {
    var needle = box.value.trim().toLowerCase();
    var shown = 0;
    threads.forEach(function (thread) {
      var hit = !needle || thread.textContent.toLowerCase().indexOf(needle) !== -1;
      thread.classList.toggle('hidden', !hit);
      if (hit) { shown += 1; }
    });
    count.textContent = needle ? shown + ' of ' + threads.length + ' threads match' : '';
  });
});
