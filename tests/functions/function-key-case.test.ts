import { HttpRequest, InvocationContext } from '@azure/functions';
import { abandonedCartsRun } from '../../src/functions/abandoned-carts-run';

/**
 * The Functions host takes the function key from the query in any case (ASP.NET Core's query
 * collection): `?Code=<key>` is a key, not a query parameter the rerun would ignore. The body is
 * wrong on purpose (dryRun a string), so the answer is about the body alone, without settings.
 */
function invocation(): InvocationContext {
  return new InvocationContext({ functionName: 'abandonedCartsRun', invocationId: 'review', logHandler: () => undefined });
}

test.each(['Code', 'CODE'])('?%s=<function key> is the function key, not an unknown parameter', async (name) => {
  const request = new HttpRequest({
    method: 'POST',
    url: `http://localhost:7071/api/abandoned-carts/run?${name}=function-key-value`,
    body: { string: JSON.stringify({ dryRun: 'yes' }) },
  });
  const response = await abandonedCartsRun(request, invocation());
  expect(response.status).toBe(400);
  const problems = (response.jsonBody as { problems: string[] }).problems;
  expect(problems.join('\n')).not.toMatch(/query parameter/);
  expect(problems.join('\n')).toMatch(/dryRun/);
});
