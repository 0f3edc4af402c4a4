// The 勾选 page: the ticked invoices' count, 金额 and 税额, recomputed as boxes are ticked (fen integers).
(function () {
  function yuan(fen) {
    var sign = fen < 0 ? "-" : "";
    fen = Math.abs(fen);
    var cents = String(fen % 100);
    return sign + Math.floor(fen / 100) + "." + (cents.length < 2 ? "0" + cents : cents);
  }
  function recompute() {
    var boxes = document.querySelectorAll("#deduct-candidates input[name=pick]");
    var count = 0, amount = 0, tax = 0;
    boxes.forEach(function (b) {
      if (b.checked) {
        count += 1;
        amount += parseInt(b.dataset.amount, 10);
        tax += parseInt(b.dataset.tax, 10);
      }
    });
    document.getElementById("tick-count").textContent = String(count);
    document.getElementById("tick-amount").textContent = yuan(amount);
    document.getElementById("tick-tax").textContent = yuan(tax);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var table = document.getElementById("deduct-candidates");
    if (!table) return;
    table.addEventListener("change", recompute);
    recompute();
  });
})();
